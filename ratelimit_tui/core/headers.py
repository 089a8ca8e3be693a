"""Any provider's response headers -> one RateLimitSnapshot. Pure functions, no I/O, never raises.

Header families are found by pattern, not by a fixed list, so a new suffix (`-project-tokens`,
`-input-images`, `_usage_based`) becomes a new bucket. The dialects and their quirks are described
in the project's rate-limit header reference.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import islice, repeat
from typing import Any

from ratelimit_tui.core.format import MONTH, WINDOWS
from ratelimit_tui.core.model import (
    DAY,
    MAX_BUCKETS,
    MINUTE,
    Bucket,
    RateLimitSnapshot,
    Refill,
    WindowSource,
    display_order,
    display_rank,
)
from ratelimit_tui.core.values import (
    EPOCH_MS_MIN,
    EPOCH_S_MIN,
    MAX_DELAY_S,
    Reset,
    parse_bool,
    parse_count,
    parse_number,
    parse_retry_after,
    read_reset,
)

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
Key = tuple[str, str | None, float | None]  # metric, scope, window named by the header

_UNIT_S = {name: seconds for seconds, name, _ in WINDOWS if name.isalpha()}  # 'minute': 60
_WINDOW_SUFFIX = re.compile(r"-(?:(\d+)-)?(second|minute|hour|day|month)$")
_METRIC = re.compile(r"[a-z][a-z0-9_]*")
_OPENAI = re.compile(r"x-ratelimit-(limit|remaining|reset|renewalperiod)-(.+)")
_ANTHROPIC = re.compile(r"anthropic-(ratelimit|priority)-(.+)-(limit|remaining|reset)")
_MISTRAL_2024 = re.compile(r"(x-)?ratelimitbysize-(limit|remaining|reset)(?:-(minute|month))?")
MAX_HEADERS = 1000  # header fields read from one head; a real one has fewer than 100
MAX_FIELD_CHARS = 8192  # a field repeated in one head is joined up to this length
_UPSTREAM_PREFIX = "llm_provider-"  # LiteLLM re-emits every upstream header with this prefix
_METRIC_ALIASES = {"req": "requests", "request": "requests", "token": "tokens"}


@dataclass(frozen=True, slots=True)
class _Sources:
    """Which of a head's names carry one bucket's fields."""

    key: Key
    limit: str | None = None
    remaining: str | None = None
    reset: str | None = None
    renewals: tuple[str, ...] = ()  # renewal periods in the head's order: the last readable wins
    # The window its name or its provider's documentation gives (None, None: neither does),
    # where the names tell the dialect (see _windowed).
    window: tuple[float | None, WindowSource | None] = (None, None)


def header_items(headers: HeaderInput) -> dict[str, str]:
    """Lower-cased names; repeated fields joined with ', ' as HTTP allows for lists."""
    return _read(_pairs(headers))[0]


def _pairs(headers: HeaderInput) -> Sequence[Any]:
    """The head's (name, value) pairs as given, up to what one head may cost: the rest is
    not read."""
    if type(headers) in (tuple, list):  # pairs already, as the client passes them: no
        # lookup of a missing attribute, no ABC check (on every response, they cost)
        return headers[:MAX_HEADERS]
    if hasattr(headers, "multi_items"):  # httpx(2).Headers keep repeated fields apart
        pairs: Iterable[Any] = headers.multi_items()
    elif isinstance(headers, Mapping):
        pairs = headers.items()
    else:
        pairs = headers
    return list(islice(pairs, MAX_HEADERS))


def _read(pairs: Sequence[Any]) -> tuple[dict[str, str], _Layout]:
    """The head's fields by lower-cased name, and the layout of those names.

    A head as an HTTP client gives it (names lower-cased, each once, values text) is taken as
    it is, in C; only another kind is read name by name."""
    try:
        items = dict(pairs)
    except (TypeError, ValueError):  # a pair that is not one
        items = {}
    if len(items) == len(pairs):  # no pair was malformed, no name repeated
        layout = _layout(tuple(items))
        if layout.as_read and all(map(isinstance, items.values(), repeat(str))):
            return items, layout
    items = {}
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        lowered = name.strip().lower()
        seen = items.get(lowered)
        if seen is None:
            items[lowered] = value
        elif len(seen) < MAX_FIELD_CHARS:  # a repeated field is not grown forever
            items[lowered] = f"{seen}, {value}"
    return items, _layout(tuple(items))


def parse_rate_limit_headers(
    headers: HeaderInput, received_at: float | None = None, status: int | None = None
) -> RateLimitSnapshot:
    """One snapshot with a bucket per limit the headers describe.

    `received_at` (epoch seconds) is when the headers arrived: relative resets count from it, and
    absolute resets are turned into seconds-from-receipt against it (clamped at 0).
    """
    if received_at is None:
        received_at = time.time()
    raw, layout = _read(_pairs(headers))
    unread = _count(headers) - MAX_HEADERS
    items = with_upstream(raw) if layout.upstream else raw
    buckets, dialect, described, unreadable = _buckets(items, layout, received_at)
    extras = _extras(items) if layout.extras else {}
    if described > len(buckets):
        extras["more_buckets"] = described - len(buckets)
    if unread > 0:
        extras["unread_headers"] = unread
    if unreadable:
        extras["unreadable"] = unreadable
    if layout.litellm:
        dialect = "litellm"  # on its own 429s as on relayed 200s: one label per endpoint
    sent_retry = layout.retry_after  # else there is no retry-after to read
    return RateLimitSnapshot(
        received_at=received_at,
        status=status,
        buckets=tuple(buckets),
        retry_after_s=_retry_after(items, received_at) if sent_retry else None,
        longest_retry_after_s=_longest_retry_after(raw, received_at) if sent_retry else None,
        should_retry=parse_bool(items.get("x-should-retry")),
        dialect=dialect,
        extras=extras,
    )


def _count(headers: HeaderInput) -> int:
    try:
        return len(headers)  # type: ignore[arg-type]
    except TypeError:  # an iterator: only what was read is known
        return 0


_RETRY_AFTER = ("retry-after-ms", "x-ms-retry-after-ms", "retry-after")


def with_upstream(items: dict[str, str]) -> dict[str, str]:
    """A proxy's copies of the upstream's headers (LiteLLM's `llm_provider-x-ratelimit-reset-
    requests`, `llm_provider-retry-after`) fill every field the plain headers lack; where both
    carry one, the plain header wins. Retry-after is one field in three spellings."""
    if not _any_starts(items, _UPSTREAM_PREFIX):
        return items
    upstream = {name[len(_UPSTREAM_PREFIX):]: value for name, value in items.items()
                if name.startswith(_UPSTREAM_PREFIX)}
    if any(name in items for name in _RETRY_AFTER):
        upstream = {k: v for k, v in upstream.items() if k not in _RETRY_AFTER}
    plain = {k: v for k, v in items.items() if not k.startswith(_UPSTREAM_PREFIX)}
    # Upstream-only names first: where a plain name and an upstream one describe the same
    # bucket field (LiteLLM's OpenAI-named copy of Anthropic's limit), the plain one, read
    # later, wins.
    return {**{k: v for k, v in upstream.items() if k not in plain}, **plain}


def _any_starts(names: Iterable[str], prefix: str | tuple[str, ...]) -> bool:
    """Whether any of the names starts with `prefix`: a scan in C, as it runs on every
    response (a generator expression costs a resumption per name)."""
    return any(map(str.startswith, names, repeat(prefix)))


REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-litellm-call-id")


def request_id_of(fields: Mapping[str, str]) -> str | None:
    """The response's request id, by the first name in REQUEST_ID_HEADERS that it carries;
    `fields` are a head's, by lower-cased name (a repeated one: its last value)."""
    for name in REQUEST_ID_HEADERS:
        if name in fields:
            return fields[name]
    return None


# (as sent, as read) for every spelling of retry-after, plain or a proxy's copy
_RETRY_AFTER_SPELLINGS = tuple((prefix + name, name) for prefix in ("", _UPSTREAM_PREFIX)
                               for name in _RETRY_AFTER)


def _longest_retry_after(raw: dict[str, str], received_at: float) -> float | None:
    """The longest wait asked in any spelling, plain or a proxy's copy."""
    waits = [_retry_after({name: raw[sent]}, received_at)
             for sent, name in _RETRY_AFTER_SPELLINGS if sent in raw]
    known = [w for w in waits if w is not None]
    return max(known) if known else None


def _retry_after(items: dict[str, str], received_at: float) -> float | None:
    """retry-after-ms beats retry-after (it is the more precise of the two)."""
    for name in _RETRY_AFTER[:2]:
        ms = parse_number(items.get(name))
        if ms is not None and 0 <= ms / 1000.0 <= MAX_DELAY_S:
            return ms / 1000.0
    return parse_retry_after(items.get("retry-after"), received_at)


# Facts that are not buckets but explain one (GitHub Models, Azure, Mistral): (header, extra,
# how to read it); an extra is set when its value reads, the later header winning.
_EXTRAS = (
    ("x-ratelimit-type", "limit_type", str.strip),
    ("x-ratelimit-timeremaining", "time_remaining_s", parse_number),
    ("x-ratelimit-abusepenalty-active", "abuse_penalty_active", parse_bool),
    ("x-ratelimit-tokens-query-cost", "query_cost_tokens", parse_count),
    ("ratelimitbysize-query-cost", "query_cost_tokens", parse_count),
)


def _extras(items: dict[str, str]) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for name, extra, read in _EXTRAS:
        if name in items and (value := read(items[name])) is not None:
            extras[extra] = value
    return extras


def _split_rest(rest: str) -> Key | None:
    """'project-tokens' -> (tokens, project, None); 'req-10-second' -> (requests, None, 10)."""
    name_window = None
    match = _WINDOW_SUFFIX.search(rest)
    if match:
        name_window = float(match.group(1) or 1) * _UNIT_S[match.group(2)]
        rest = rest[: match.start()]
    scope = None
    if rest.startswith("project-"):
        scope, rest = "project", rest[len("project-"):]
    metric = rest.replace("-", "_")
    metric = _METRIC_ALIASES.get(metric, metric)
    if not _METRIC.fullmatch(metric):
        return None
    return metric, scope, name_window


@functools.lru_cache(maxsize=2048)
def classify_name(name: str) -> tuple[Key, str, str] | None:
    """(bucket key, which field, family) a lower-cased header name carries, or None.
    Cached: a provider sends the same names on every response."""
    if "limit" not in name and not name.startswith("anthropic-priority"):
        return None
    if match := _OPENAI.fullmatch(name):
        key = _split_rest(match.group(2))
        if key is None:
            return None
        what = match.group(1)
        family = ("renewal" if what == "renewalperiod" else
                  "named-window" if key[2] is not None else "openai")
        return key, what, family
    if name in ("x-ratelimit-requests", "x-ratelimit-tokens"):  # limits without '-limit-'
        return (name.rsplit("-", 1)[1], None, None), "limit", "anthropic-compat"
    if name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        return ("requests", None, None), name.rsplit("-", 1)[1], "bare"
    if name in ("x-tokenlimit-limit", "x-tokenlimit-remaining"):
        return ("tokens", None, None), name.rsplit("-", 1)[1], "together"
    if (match := _ANTHROPIC.fullmatch(name)) and "unified" not in name:
        metric = match.group(2).replace("-", "_")
        if not _METRIC.fullmatch(metric):
            return None
        scope = "priority" if match.group(1) == "priority" else None
        return (metric, scope, None), match.group(3), "anthropic"
    if match := _MISTRAL_2024.fullmatch(name):
        # Without a unit, Mistral's 2024 `ratelimitbysize-*` is the per-minute token bucket
        # (the one with a reset): the same bucket as `x-ratelimitbysize-*-minute`.
        unit = match.group(3) or "minute"
        return ("tokens", None, _UNIT_S[unit]), match.group(2), "mistral"
    return None


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the names of a head decide, whatever their values. A provider sends the same names
    in every response: this is worked out once per list of names, and each response only
    reads the values the layout points at."""

    as_read: bool  # every name text, lower-cased and stripped: such a head is taken as it is
    upstream: bool = False  # a proxy's copies of the upstream's headers (with_upstream)
    litellm: bool = False  # LiteLLM's own headers or copies: the dialect whatever they say
    buckets: tuple[_Sources, ...] = ()  # after the merge, in display order
    dialect: str | None = None  # _BY_RESET: the value of x-ratelimit-reset decides
    retry_after: bool = False  # a retry-after in any spelling
    extras: bool = False  # a header of _EXTRAS
    ietf: bool = False  # an IETF RateLimit field


_BY_RESET = "by x-ratelimit-reset"  # a dialect the names leave open (see _dialect)
_NOT_TEXT = _Layout(as_read=False)  # of names that are not all text: read one by one (_read)


@functools.lru_cache(maxsize=64)
def _layout(names: tuple[Any, ...]) -> _Layout:
    """The layout of a head with these names. Cached: a provider sends the same few lists of
    names again and again. A server that sends a new list every time costs a miss each, and
    the cache holds 64 lists at most (of MAX_HEADERS names at most)."""
    if not all(type(name) is str for name in names):
        return _NOT_TEXT
    given = dict.fromkeys(names, "")
    merged = with_upstream(given)  # only its names matter here
    sources: dict[Key, dict[str, Any]] = {}  # per bucket: field -> name, the last one sent
    families = set()
    for name in merged:
        if (found := classify_name(name)) is not None:
            key, what, family = found
            families.add(family)
            fields = sources.setdefault(key, {"renewals": ()})
            if what == "renewalperiod":
                fields["renewals"] += (name,)
            else:
                fields[what] = name
    # In display order already (a stable sort keeps the head's order among equals), so that
    # a head's buckets need no sorting each time.
    ordered = sorted(sources, key=lambda key: display_rank(*key))
    dialect = _dialect(merged, families, sources.keys())
    return _Layout(
        as_read=all(name == name.strip().lower() for name in names),
        upstream=_any_starts(names, _UPSTREAM_PREFIX),
        litellm=_any_starts(names, ("x-litellm-", _UPSTREAM_PREFIX)),
        buckets=tuple(_windowed(_Sources(key, **sources[key]), dialect) for key in ordered),
        dialect=dialect,
        retry_after=any(sent in given for sent, _ in _RETRY_AFTER_SPELLINGS),
        extras=any(name in merged for name, _, _ in _EXTRAS),
        ietf=not merged.keys().isdisjoint(_IETF_FIELDS),
    )


def _dialect(names: Container[str], families: set[str], keys: Container[Key]) -> str | None:
    """The dialect as the names tell it; _BY_RESET where only a value can (_dialect_by_reset)."""
    if "anthropic" in families:
        return "anthropic"
    if "renewal" in families:
        return "azure"
    if "x-groq-region" in names:
        return "groq"
    if "anthropic-compat" in families:
        return "anthropic-compat"
    if "mistral" in families or any(k[0] == "requests" and k[2] == 10.0 for k in keys):
        return "mistral"
    if "named-window" in families:
        return "mistral" if any(k[2] == MONTH for k in keys) else "cerebras"
    if "together" in families or ("bare" in families and "x-ratelimit" in names):
        return "together"
    if "bare" in families:
        return _BY_RESET
    if "openai" in families:
        return "openai"
    if "ratelimit" in names or "ratelimit-policy" in names or "ratelimit-limit" in names:
        return "ietf"
    return None


def _dialect_by_reset(reset_text: str | None, keys: Container[Key]) -> str:
    """Whose bare x-ratelimit-{limit,remaining,reset} these are: the reset's magnitude tells."""
    reset = parse_number(reset_text)
    if reset is not None and reset >= EPOCH_MS_MIN:
        return "openrouter"
    if reset is not None and reset >= EPOCH_S_MIN:
        return "github-style"
    if ("requests", None, None) in keys and ("tokens", None, None) in keys:
        return "together"
    return "generic"


def _windowed(sources: _Sources, dialect: str | None) -> _Sources:
    """The bucket's sources with the window its name gives, else its provider's (a renewal
    period, read from a value, comes between the two: see _buckets)."""
    name_window = sources.key[2]
    if name_window is not None:
        return replace(sources, window=(name_window, WindowSource.HEADER))
    if (provider := _provider_window(dialect, sources.key)) is not None:
        return replace(sources, window=(provider, WindowSource.PROVIDER))
    return sources


def _provider_window(dialect: str | None, key: Key) -> float | None:
    """Windows the provider documents for header names that do not carry one."""
    metric = key[0]
    if dialect == "groq":  # 'requests' is always per day, 'tokens' per minute (Groq's docs)
        return {"requests": DAY, "tokens": MINUTE}.get(metric)
    if dialect == "together" and metric in ("requests", "tokens"):
        return 1.0  # Together enforces its limits per second
    if dialect == "anthropic":
        return MINUTE  # every anthropic-ratelimit-* limit is per minute
    return None


def _buckets(items: dict[str, str], layout: _Layout,
             received_at: float) -> tuple[list[Bucket], str | None, int, list[str]]:
    """(the buckets kept, the dialect, how many buckets the head described, the ids of those
    with a value that was sent but cannot be read or meant)."""
    dialect = layout.dialect
    by_reset = dialect == _BY_RESET  # the layout could not tell the providers' windows
    if by_reset:
        dialect = _dialect_by_reset(items.get("x-ratelimit-reset"),
                                    [sources.key for sources in layout.buckets])
    continuous = dialect == "anthropic"  # its resets are a token bucket's, whatever their form
    described = []
    unreadable = set()
    for sources in layout.buckets:
        # items.get(None) is None: a field that no name carries
        limit, remaining, reset = (items.get(sources.limit), items.get(sources.remaining),
                                   items.get(sources.reset))
        window = _windowed(sources, dialect).window if by_reset else sources.window
        if sources.renewals and window[1] is not WindowSource.HEADER:
            renewal = _renewal(items, sources.renewals)
            if renewal is not None:  # the renewal period beats the provider's documentation
                window = renewal, WindowSource.HEADER
        bucket = _bucket(sources.key, limit, remaining, reset, window, received_at, continuous)
        described.append(bucket)
        if (bucket.reset_in_s is None or bucket.limit is None or bucket.remaining is None) and (
                _unreadable(bucket, limit, remaining, reset)):
            unreadable.add(bucket.id)
    if layout.ietf:
        described += _ietf_buckets(items, received_at)
    buckets = described  # in the layout's display order, unless:
    if layout.ietf or len(described) > MAX_BUCKETS:
        buckets = keep_the_binding(described, MAX_BUCKETS)
        buckets.sort(key=display_order)
    return buckets, dialect, len(described), sorted(unreadable)


def _renewal(items: dict[str, str], names: tuple[str, ...]) -> float | None:
    """The window a renewal-period header names (Azure's), in seconds."""
    window = None
    for name in names:
        seconds = parse_number(items[name])
        if seconds is not None and seconds > 0:
            window = seconds
    return window


def _unreadable(bucket: Bucket, limit: str | None, remaining: str | None,
                reset: str | None) -> bool:
    """A value was sent and reads as unknown, and it is not a sentinel (-1, the 0/0/0 trio).
    The bucket's values are tested first: they are almost always there."""
    if bucket.limit is None and bucket.remaining is None:
        return limit != "0" and (_lost(limit) or _lost(remaining))  # not the placeholder trio
    return ((bucket.limit is None and _lost(limit))
            or (bucket.remaining is None and _lost(remaining))
            or (bucket.reset_in_s is None and _lost(reset)))


def _lost(text: str | None) -> bool:
    """Whether `text`, which reads as nothing, was sent and is not a sentinel."""
    if not text:
        return False
    text = text.strip()
    return bool(text) and not text.startswith("-") and text != "0"


def keep_the_binding(buckets: list[Bucket], most: int) -> list[Bucket]:
    """At most `most` buckets: the ones with the least left first (those bind), then the
    others in display order. A server may describe thousands; nobody can read them."""
    if len(buckets) <= most:
        return buckets
    by_need = sorted(buckets, key=lambda b: (b.fraction is None, b.fraction or 0.0,
                                             display_order(b)))
    return by_need[:most]


def _bucket(key: Key, limit_text: str | None, remaining_text: str | None,
            reset_text: str | None, window: tuple[float | None, WindowSource | None],
            received_at: float, continuous: bool) -> Bucket:
    """One bucket from its values; `window` as its name, a renewal period or its provider
    gives it, else inferred from a token bucket's reset; `continuous`: the dialect's resets
    are a token bucket's."""
    limit = parse_count(limit_text)
    remaining = parse_count(remaining_text)
    if limit == 0:  # a zero limit is a placeholder (the 0/0/0 trio), never an exhausted bucket
        limit = remaining = None
    window_s, window_source = window
    reset_at = reset_in = refill = None
    # A reset of an unknown bucket says nothing.
    if (limit is not None or remaining is not None) and (
            reset := read_reset(reset_text, received_at)) is not None:
        reset_at, reset_in, kind = reset
        if kind == Reset.DURATION:
            refill = Refill.CONTINUOUS
            if window_s is None:
                window_s = infer_window(limit, remaining, reset_in)
                window_source = WindowSource.INFERRED if window_s is not None else None
        else:
            refill = Refill.CONTINUOUS if continuous else Refill.WINDOW
    return Bucket(key[0], key[1], window_s, window_source, limit, remaining, reset_at, reset_in,
                  refill, key[2])


def infer_window(limit: int | None, remaining: int | None, reset_in: float | None) -> float | None:
    """A token bucket refills `limit` per window, so the time to full tells the window:
    reset x limit / (limit - remaining). Unknowable when the bucket is full."""
    if limit is None or remaining is None or reset_in is None:
        return None
    used = limit - remaining
    if used <= 0 or reset_in <= 0:
        return None
    window = reset_in * limit / used
    # Outside a second..a month it is noise (a reset rounded to 0s, an illustrative doc value).
    return window if 1.0 <= window <= 40 * 86400 else None


# --- IETF draft RateLimit / RateLimit-Policy (and the older RateLimit-Limit form) -------------

def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _sf_items(text: str) -> list[tuple[list[str], dict[str, str]]]:
    """Structured-field list items, leniently: (bare tokens, parameters) per item. Lenient
    because real servers (Hugging Face) send strings where RFC 9651 wants a parameter key."""
    items = []
    for item in _split_outside_quotes(text, ","):
        bare, params = [], {}
        for part in _split_outside_quotes(item, ";"):
            key, eq, value = part.partition("=")
            if eq and not key.strip().startswith('"'):
                params[key.strip().lower()] = value.strip().strip('"')
            else:
                bare.append(part.strip('"'))
        items.append((bare, params))
    return items


_IETF_FIELDS = {"ratelimit", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining",
                "ratelimit-reset"}
_IETF_UNITS = {"requests": "requests", "content-bytes": "content_bytes",
               "concurrent-requests": "concurrency"}


def _ietf_buckets(items: dict[str, str], received_at: float) -> list[Bucket]:
    policies: dict[str | None, dict[str, str]] = {}
    for bare, params in _sf_items(items.get("ratelimit-policy", "")):
        if bare and parse_number(bare[0]) is not None:  # draft-06: '100;w=10'
            params = {"q": bare[0], **params}
            bare = bare[1:]
        policies[bare[-1] if bare else None] = params
    current: dict[str | None, dict[str, str]] = {}
    for bare, params in _sf_items(items.get("ratelimit", "")):
        if not bare and params.keys() & {"limit", "remaining", "reset"}:  # draft-07 dictionary
            entry = current.setdefault(None, {})
            entry.update({{"limit": "q", "remaining": "r", "reset": "t"}[k]: v
                          for k, v in params.items() if k in ("limit", "remaining", "reset")})
        else:
            current[bare[-1] if bare else None] = params
    old = {k: items[f"ratelimit-{v}"] for k, v in (("q", "limit"), ("r", "remaining"),
                                                    ("t", "reset")) if f"ratelimit-{v}" in items}
    if old:
        current.setdefault(None, {}).update(old)
    if None in current and None not in policies and len(policies) == 1:
        policies[None] = policies.pop(next(iter(policies)))  # the one policy the values describe
    buckets = []
    for name in list(policies) + [n for n in current if n not in policies]:
        policy, state = policies.get(name, {}), current.get(name, {})
        limit = parse_count(state.get("q", policy.get("q")))
        remaining = parse_count(state.get("r"))
        if limit == 0:
            limit = remaining = None
        if limit is None and remaining is None:
            continue
        delta = parse_number(state.get("t"))
        reset_in = delta if delta is not None and 0 <= delta <= MAX_DELAY_S else None
        window = parse_number(policy.get("w"))
        window = window if window is not None and window > 0 else None
        buckets.append(Bucket(
            metric=_IETF_UNITS.get(policy.get("qu", "requests"), "requests"),
            scope=name,
            window_s=window,
            window_source=WindowSource.HEADER if window is not None else None,
            limit=limit,
            remaining=remaining,
            reset_at=None if reset_in is None else received_at + reset_in,
            reset_in_s=reset_in,
            refill=None if reset_in is None else Refill.WINDOW,
        ))
    return buckets
