"""Short human text for counts, durations and windows, shared by the CLI and the dashboard."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ratelimit_tui.core.events import CallRecord

MONTH = 30 * 86400.0
# The windows providers name: seconds, as header names spell them, as a gauge label says them.
WINDOWS = ((1.0, "second", "s"), (10.0, "10s", "10s"), (60.0, "minute", "min"),
           (3600.0, "hour", "h"), (86400.0, "day", "day"), (MONTH, "month", "month"))
_UNITS = {seconds: unit for seconds, _, unit in WINDOWS}


def compact_duration(seconds: float) -> str:
    """'41s', '5m', '2h30m', '1d2h', '0.4s': short enough for a gauge."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds > 366 * 86400:
        return "over a year"
    if seconds < 10 and round(seconds) != seconds:
        return f"{seconds:.1f}s" if seconds >= 0.1 else f"{seconds * 1000:.0f}ms"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n]
    return "".join(shown[:2]) or "0s"


def rounded_ms(ms: float) -> float:
    """A call's time in milliseconds as exports and --json give it: to 0.1 ms. The clock reads
    finer, but beyond that the digits are the event loop's scheduling, not the call; whole
    milliseconds would blur a 1-2 ms call to a loopback server."""
    return round(ms, 1)


def countdown_text(seconds: float) -> str:
    """A duration that a 1 Hz tick redraws: whole seconds, rounded up ('3s' until the last
    second has passed), never a tenth that would stand still between two ticks."""
    return compact_duration(math.ceil(seconds - 1e-9) if seconds < 60 else seconds)


def nominal_window(seconds: float | None, inferred: bool = False) -> float | None:
    """A bucket's window as it is shown and exported. Inferred windows snap to the nearest
    standard one: the arithmetic that infers them is only as good as the reset's precision."""
    if seconds is None or not inferred:
        return seconds
    return min(_UNITS, key=lambda w: abs(w - seconds) / w)


def window_unit(seconds: float | None, inferred: bool = False) -> str:
    """The per-what of a gauge label ('min', 'day', '5m')."""
    seconds = nominal_window(seconds, inferred)
    if seconds is None:
        return "?"
    return _UNITS.get(seconds) or compact_duration(seconds)


def clock_ticks(start: float, end: float, step: float) -> list[tuple[float, str]]:
    """The local times of day from `start` to `end` that are whole multiples of `step` (a
    minute, a quarter of an hour, six hours), each with its 'HH:MM': ticks of a time axis
    that sit where their labels say, none of them later than `end`."""
    offset = time.localtime(end).tm_gmtoff  # six-hour steps fall on 00, 06... local time
    first = math.ceil((start + offset) / step) * step - offset
    return [(t, time.strftime("%H:%M", time.localtime(t)))
            for t in (first + step * k for k in range(int((end - first) // step) + 1))]


def count(n: float | None) -> str:
    """'9,999', '1.999M', '149.9M', '10B'; 'n/a' for unknown. Large values keep four significant
    digits, truncated, so a remaining count never reads as more than it is."""
    if n is None:
        return "n/a"
    n = int(n)
    if abs(n) < 1_000_000:
        return f"{n:,}"
    size, suffix = next((s, x) for s, x in ((10**12, "T"), (10**9, "B"), (10**6, "M"))
                        if abs(n) >= s)
    value = n / size
    decimals = max(0, 4 - len(str(int(abs(value)))))
    value = math.floor(value * 10**decimals) / 10**decimals
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") + suffix


def plural(n: int, word: str) -> str:
    """'1 call', '2 calls': the count and the word, in agreement."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def call_line(record: CallRecord) -> str:
    """One call in one line: '200 in 12ms · requests 19 / 20 reset 3s · tokens 3,999 / 4,000
    reset 1s', or what went wrong, and what the refusal said of the limits. Resets are counted
    as the gauges count them, so a line agrees with the screen beside it."""
    snapshot = record.snapshot
    buckets = [b for b in snapshot.buckets if b.known] if snapshot is not None else []
    parts = [f"{b.id} {count(b.remaining)} / {count(b.limit)}"
             + ("" if b.reset_in_s is None else f" reset {countdown_text(b.reset_in_s)}")
             for b in buckets]
    if record.error is not None and record.outcome != "ok":
        return " · ".join([record.error, *parts])
    if snapshot is not None and not snapshot.buckets:
        parts.append("no rate-limit headers")
    elif snapshot is not None and not buckets:
        parts.append("rate-limit headers with no readable value")
    return " · ".join([f"{record.status} in {compact_duration(record.latency_s)}", *parts])
