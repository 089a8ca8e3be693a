"""The value grammar of rate-limit headers: counts, durations, instants.

Pure functions that never raise: anything they cannot read is None ("unknown"), never zero.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

# Go's time.Duration text: one or more number+unit runs. "ms" must be tried before "m".
_GO_RUN = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_GO_FULL = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|h|m|s))+")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
           "h": 3600.0}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

# Above these magnitudes a bare number is an instant, not a delay (the largest delay seen is about
# 86 800 s; epoch seconds passed 1e9 in 2001, epoch milliseconds are above 1e12).
EPOCH_S_MIN = 1e9
EPOCH_MS_MIN = 1e12
_LAST_INSTANT = 253402300799.0  # 9999-12-31T23:59:59Z: beyond it no datetime can show it


MAX_TEXT = 64  # no rate-limit value is longer; a longer one is garbage (and int() of 5000
# digits raises)
MAX_DELAY_S = 400 * 86400.0  # a reset or retry-after further away than this is nonsense
MAX_COUNT = 10**15  # no limit is larger (a month of the largest token quotas is ~1e11)


def parse_number(value: str | None) -> float | None:
    """A finite number, or None."""
    if value is None or len(value) > MAX_TEXT:
        return None
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_count(value: str | None) -> int | None:
    """A limit or remaining count. Negative values (Azure's -1 sentinel) and values no server
    can mean (1e308) are unknown."""
    # The usual case, read exactly; int() reads any decimal digits, as parse_number's \d does.
    if value is not None and value.isdecimal() and len(value) <= MAX_TEXT:
        count = int(value)
        return count if count <= MAX_COUNT else None
    number = parse_number(value)
    if number is None or not 0 <= number <= MAX_COUNT:
        return None
    return int(number)


def parse_go_duration(value: str | None) -> float | None:
    """Seconds in a Go duration such as '6m0s', '172.799999ms', '24h6m34s'; None if not one
    (or if it is longer than any real delay)."""
    if value is None or len(value) > MAX_TEXT:
        return None
    text = value.strip()
    seconds = _one_run(text)
    if seconds is None:
        if not _GO_FULL.fullmatch(text):
            return None
        seconds = sum(float(number) * _UNIT_S[unit] for number, unit in _GO_RUN.findall(text))
    return seconds if seconds <= MAX_DELAY_S else None


def _one_run(text: str) -> float | None:
    """Seconds in a duration of one run, as most are ("6ms", "8.64s"), or None. Read with
    string methods: a regex costs more, on every response. A number has no letters, so the
    unit is the two letters at the end if they are one, else the last letter; the number is
    digits with at most one point among or before them, as _GO_RUN has it (\\d and
    isdecimal() are both Unicode's decimal digits)."""
    unit = text[-2:]
    if unit not in _UNIT_S:
        unit = text[-1:]
        if unit not in _UNIT_S:
            return None
    number = text[:-len(unit)]
    if not number.replace(".", "", 1).isdecimal():
        return None
    return float(number) * _UNIT_S[unit]


def parse_instant(value: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp or an HTTP-date; None if it is neither."""
    if value is None or len(value) > MAX_TEXT:
        return None
    text = value.strip()
    if not text or text[0] not in "0123456789MTWFS":  # cheap reject before two parsers
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime  # rare, and costly to import at start

        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    except OverflowError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


class Reset(StrEnum):
    """How a reset value was written; it decides what the value means."""

    DURATION = "duration"  # Go duration: time until the bucket is full again (token bucket)
    DELTA = "delta"  # plain seconds from receipt
    EPOCH = "epoch"  # an absolute instant (epoch s/ms, RFC 3339, HTTP-date)


class ResetValue(NamedTuple):
    at: float  # epoch seconds
    in_s: float  # seconds from receipt, never negative (exact for relative forms)
    kind: Reset


def parse_reset(value: str | None, received_at: float) -> ResetValue | None:
    """A reset value in any of the forms providers use, or None."""
    reset = read_reset(value, received_at)
    return None if reset is None else ResetValue(*reset)


def read_reset(value: str | None, received_at: float) -> tuple[float, float, Reset] | None:
    """parse_reset's (at, in_s, kind) as a plain tuple, for the header parser: on every
    response, a named tuple cost it more to make than the rest of the reading."""
    if value is None:
        return None
    if value.endswith("s"):  # Go durations end in a unit, and most resets are Go durations
        seconds = parse_go_duration(value)
        if seconds is not None:
            return received_at + seconds, seconds, Reset.DURATION
    number = parse_number(value)
    if number is not None:
        if number < 0:
            return None
        if number >= EPOCH_S_MIN:
            instant = number / 1000.0 if number >= EPOCH_MS_MIN else number
            return _absolute(instant, received_at) if instant <= _LAST_INSTANT else None
        if number > MAX_DELAY_S:
            return None
        return received_at + number, number, Reset.DELTA
    seconds = parse_go_duration(value)
    if seconds is not None:
        return received_at + seconds, seconds, Reset.DURATION
    instant = parse_instant(value)
    return None if instant is None else _absolute(instant, received_at)


def _absolute(instant: float, received_at: float) -> tuple[float, float, Reset] | None:
    # Anthropic's resets are routinely a few seconds before the response's own Date: clamp.
    in_s = max(0.0, instant - received_at)
    return (instant, in_s, Reset.EPOCH) if in_s <= MAX_DELAY_S else None


def parse_retry_after(value: str | None, received_at: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or HTTP-date), never negative."""
    number = parse_number(value)
    if number is not None:
        return number if 0 <= number <= MAX_DELAY_S else None
    instant = parse_instant(value)
    if instant is None:
        return None
    wait = max(0.0, instant - received_at)
    return wait if wait <= MAX_DELAY_S else None


def parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    return None


def iso_utc(epoch_s: float | None) -> str | None:
    """ISO-8601 UTC text of an instant, to the millisecond."""
    if epoch_s is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a datetime can show
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_span(text: str) -> float | None:
    """'90s', '15m', '1h30m', '7d': a span of time back from now, for --since."""
    days, _, rest = text.strip().partition("d") if "d" in text else ("0", "", text.strip())
    if not days.isdigit():
        return None
    seconds = parse_go_duration(rest) if rest else 0.0
    if seconds is None:
        return None
    total = int(days) * 86400 + seconds
    return total if total > 0 else None
