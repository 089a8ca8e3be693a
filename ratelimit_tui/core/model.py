"""What one response says about its rate limits: buckets and a snapshot of them."""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum
from typing import Any

from ratelimit_tui.core.format import WINDOWS, compact_duration
from ratelimit_tui.core.frozen import frozen
from ratelimit_tui.core.values import iso_utc

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

REQUEST_METRICS = frozenset({"requests"})
TOKEN_METRICS = frozenset({"tokens", "input_tokens", "output_tokens", "tokens_usage_based"})
_WINDOW_NAMES = {seconds: name for seconds, name, _ in WINDOWS}
MAX_BUCKETS = 24  # buckets kept from one head, and in the merged picture; real providers
# report fewer than 10, a hostile server thousands
THROTTLED_STATUS = 429  # the one status that means "over your rate limit"


def is_throttled(status: int | None) -> bool:
    """The one definition of a throttled response. 503 and 529 are the server's capacity, not
    the caller's quota: they are retried as server errors (honouring any retry-after)."""
    return status == THROTTLED_STATUS


def window_name(seconds: float) -> str:
    """'minute', 'day', '10s', '5m'...: a window as header names and bucket ids spell it."""
    if seconds in _WINDOW_NAMES:
        return _WINDOW_NAMES[seconds]
    return compact_duration(seconds)


_METRIC_RANK = {"requests": 0, "tokens": 1}  # the rest: 2


def display_order(bucket: Bucket) -> tuple[bool, int, float]:
    """Requests first, then tokens, then the rest; scoped buckets after unscoped ones."""
    return display_rank(bucket.metric, bucket.scope, bucket.name_window_s)


def display_rank(metric: str, scope: str | None,
                 name_window_s: float | None) -> tuple[bool, int, float]:
    """display_order of a bucket with this identity."""
    return (scope is not None, _METRIC_RANK.get(metric, 2), name_window_s or 0.0)


class Refill(StrEnum):
    """How a bucket fills up again, which decides how it can be projected forward."""

    CONTINUOUS = "continuous"  # token bucket: full at reset_at, linearly (OpenAI, Anthropic)
    WINDOW = "window"  # fixed window: unchanged until reset_at, then full


class WindowSource(StrEnum):
    HEADER = "header"  # named by the header (suffix, renewalperiod, w=)
    PROVIDER = "provider"  # documented by the provider for this header family (Groq, Together)
    INFERRED = "inferred"  # reset x limit / (limit - remaining)


@frozen
class Bucket:
    """One limit as one response reported it. None means unknown, never zero."""

    metric: str  # requests, tokens, input_tokens, output_tokens, input_images, ...
    scope: str | None  # project, priority, an IETF policy name, or None
    window_s: float | None
    window_source: WindowSource | None
    limit: int | None
    remaining: int | None
    reset_at: float | None  # epoch seconds
    reset_in_s: float | None  # seconds from receipt, never negative
    refill: Refill | None
    name_window_s: float | None = None  # the window the header name carries (part of the id)

    @property
    def id(self) -> str:
        """Stable identity across responses: 'requests', 'project_tokens', 'requests_day'."""
        if not self.scope and self.name_window_s is None:
            return self.metric  # the usual bucket, asked for its id several times a response
        parts = [self.scope, self.metric] if self.scope else [self.metric]
        if self.name_window_s is not None:
            parts.append(window_name(self.name_window_s))
        return "_".join(parts)

    @property
    def known(self) -> bool:
        return self.limit is not None or self.remaining is not None

    @property
    def fraction(self) -> float | None:
        """remaining / limit clamped to [0, 1] (some providers report remaining > limit)."""
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "scope": self.scope,
            "window_s": self.window_s,
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_in_s": self.reset_in_s,
            "reset_at": iso_utc(self.reset_at),
        }


@frozen
class RateLimitSnapshot:
    """Everything one HTTP response said about rate limits."""

    received_at: float  # epoch seconds
    status: int | None = None
    buckets: tuple[Bucket, ...] = ()
    retry_after_s: float | None = None  # the preferred spelling's (retry-after-ms first)
    longest_retry_after_s: float | None = None  # the longest any source asked: never retry sooner
    should_retry: bool | None = None
    dialect: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def throttled(self) -> bool:
        """The response refused the call for the caller's rate limit (see is_throttled)."""
        return is_throttled(self.status)

    def wait_left(self, now: float) -> float | None:
        """What is left at `now` of the longest wait the response asked for (every spelling,
        a proxy's copy, the error body), counted from when it arrived."""
        asked = self.longest_retry_after_s
        if asked is None:
            asked = self.retry_after_s
        return None if asked is None else max(0.0, self.received_at + asked - now)

    def bucket(self, bucket_id: str) -> Bucket | None:
        return next((b for b in self.buckets if b.id == bucket_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "received_at": iso_utc(self.received_at),
            "retry_after_s": self.retry_after_s,
            "buckets": [b.to_json() for b in self.buckets],
        }
