"""Token buckets with OpenAI's semantics, one set per API key.

Each bucket refills continuously at limit/window per second up to its limit. A request is charged
on arrival (estimated prompt tokens + max_tokens), and only if every bucket can pay; otherwise it
is refused with the wait until they can. `reset` is the time until the bucket is full again.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MINUTE = 60.0
DAY = 86400.0


class TokenBucket:
    def __init__(self, limit: int, window_s: float, now: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.rate = limit / window_s  # units per second
        self._level = float(limit)
        self._updated = now

    def level(self, now: float) -> float:
        if now > self._updated:
            self._level = min(self.limit, self._level + (now - self._updated) * self.rate)
            self._updated = now
        return self._level

    def remaining(self, now: float) -> int:
        return math.floor(self.level(now) + 1e-9)

    def reset_s(self, now: float) -> float:
        """Seconds until full again."""
        return (self.limit - self.level(now)) / self.rate

    def wait_s(self, amount: float, now: float) -> float:
        """Seconds until `amount` can be paid (inf if it exceeds the whole bucket)."""
        if amount > self.limit:
            return math.inf
        return max(0.0, (amount - self.level(now)) / self.rate)

    def take(self, amount: float, now: float) -> None:
        self._level = self.level(now) - amount


@dataclass(frozen=True)
class Limits:
    rpm: int = 60
    tpm: int = 40_000
    rpd: int | None = None
    minute_s: float = MINUTE  # the window of rpm and tpm; tests shrink it to make refills fast


@dataclass(frozen=True)
class BucketView:
    """What a response reports of one bucket."""

    name: str  # requests, tokens, requests_day
    limit: int
    remaining: int
    reset_s: float
    window_s: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float  # 0 when allowed; inf when the request can never fit
    exhausted: str | None  # the bucket that refused it
    views: tuple[BucketView, ...]  # every bucket after the charge (or the refusal)

    def view(self, name: str) -> BucketView | None:
        return next((v for v in self.views if v.name == name), None)


class KeyBuckets:
    """The buckets of one API key."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.buckets = {"requests": TokenBucket(limits.rpm, limits.minute_s, now),
                        "tokens": TokenBucket(limits.tpm, limits.minute_s, now)}
        if limits.rpd:
            self.buckets["requests_day"] = TokenBucket(limits.rpd, DAY, now)

    def cost(self, name: str, tokens: int) -> int:
        return tokens if name == "tokens" else 1

    def charge(self, tokens: int, now: float) -> Decision:
        blocker, longest = None, 0.0  # the first bucket with the longest wait, if any waits
        for name, bucket in self.buckets.items():
            wait = bucket.wait_s(self.cost(name, tokens), now)
            if wait > longest:
                blocker, longest = name, wait
        if blocker is not None:
            return Decision(False, longest, blocker, self.views(now))
        for name, bucket in self.buckets.items():
            bucket.take(self.cost(name, tokens), now)
        return Decision(True, 0.0, None, self.views(now))

    def views(self, now: float) -> tuple[BucketView, ...]:
        return tuple(BucketView(name, b.limit, b.remaining(now), b.reset_s(now), b.window_s)
                     for name, b in self.buckets.items())


class Limiter:
    """Buckets per API key: two keys never share one. Keys are held only as digests."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._keys: dict[str, KeyBuckets] = {}

    @staticmethod
    def key_id(api_key: str) -> str:
        return hashlib.sha256(api_key.encode()).hexdigest()[:16]

    def _buckets(self, key_id: str) -> KeyBuckets:
        if key_id not in self._keys:
            self._keys[key_id] = KeyBuckets(self.limits, self.clock())
        return self._keys[key_id]

    def charge(self, key_id: str, tokens: int) -> Decision:
        return self._buckets(key_id).charge(tokens, self.clock())

    def peek(self, key_id: str) -> tuple[BucketView, ...]:
        return self._buckets(key_id).views(self.clock())

    def key_ids(self) -> list[str]:
        return list(self._keys)
