"""QuotaState: the running picture of every limit, merged from successive snapshots.

Between responses the picture is projected: a token bucket (OpenAI, Anthropic) refills linearly
until its reset instant; a fixed window stays put until its reset, then is full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ratelimit_tui.core.model import (
    MAX_BUCKETS,
    REQUEST_METRICS,
    TOKEN_METRICS,
    Bucket,
    RateLimitSnapshot,
    Refill,
    display_order,
)


@dataclass(frozen=True, slots=True)
class BucketState:
    """A bucket as last observed, and what it should look like at a later instant."""

    bucket: Bucket
    observed_at: float  # epoch seconds of the response that carried it
    stale: bool = False  # the latest response did not confirm it

    def age(self, now: float) -> float:
        return max(0.0, now - self.observed_at)

    def reset_in(self, now: float) -> float | None:
        """Seconds until the bucket is full again (never negative)."""
        at = self.bucket.reset_at
        return None if at is None else max(0.0, at - now)

    def projected_remaining(self, now: float) -> float | None:
        """Remaining quota at `now` if nobody used any since the observation."""
        b = self.bucket
        if b.remaining is None or b.limit is None or b.remaining >= b.limit:
            return None if b.remaining is None else float(b.remaining)
        elapsed = self.age(now)
        if b.refill == Refill.CONTINUOUS and b.reset_in_s is not None:
            if elapsed >= b.reset_in_s:
                return float(b.limit)
            return b.remaining + (b.limit - b.remaining) * elapsed / b.reset_in_s
        if b.refill == Refill.WINDOW and b.reset_in_s is not None and elapsed >= b.reset_in_s:
            return float(b.limit)
        return float(b.remaining)

    def shown_remaining(self, now: float) -> tuple[int | None, bool]:
        """(remaining as a gauge shows it at `now`, whether that is a projection rather than
        what the server said). Rounded down: a projection never promises a call too many."""
        projected = self.projected_remaining(now)
        if projected is None:
            return None, False
        shown = math.floor(projected + 1e-9)
        return shown, shown != self.bucket.remaining

    def shown_share(self, now: float) -> float | None:
        """The share left, of the count shown (9 / 20 is 45%, whatever the projection's
        fraction): the figures beside each other agree."""
        shown, _ = self.shown_remaining(now)
        limit = self.bucket.limit
        if shown is None or not limit:
            return None
        return max(0.0, min(1.0, shown / limit))

    def projected_fraction(self, now: float) -> float | None:
        projected = self.projected_remaining(now)
        limit = self.bucket.limit
        if projected is None or not limit:
            return None
        return max(0.0, min(1.0, projected / limit))

    def wait_for(self, need: float, now: float) -> float | None:
        """Seconds until `need` units are available (0 if now); None if it never will be or
        the refill is unknown."""
        b = self.bucket
        if b.remaining is None or b.limit is None:
            return 0.0  # unknown: nothing to wait for that we know of
        if need > b.limit:
            return None
        projected = self.projected_remaining(now)
        if projected is not None and projected >= need:
            return 0.0
        if b.reset_in_s is None:
            return None
        if b.refill == Refill.CONTINUOUS and b.reset_in_s > 0:
            refill_rate = (b.limit - b.remaining) / b.reset_in_s  # units per second
            return max(0.0, (need - b.remaining) / refill_rate - self.age(now))
        return self.reset_in(now)


def refill_wait(snapshot: RateLimitSnapshot, now: float) -> float | None:
    """After a 429 that did not say how long to wait: until the buckets it reported spent are
    full again (their reset). Later than one request's refill, on purpose: a reset in whole
    seconds (Anthropic's) cannot time a retry finer, and no retry may come too soon. None when
    it reported none spent, or their reset is unknown."""
    waits = [BucketState(b, snapshot.received_at).reset_in(now) for b in snapshot.buckets
             if b.remaining == 0]
    known = [w for w in waits if w is not None]
    return max(known) if known else None


REORDER_WINDOW_S = 1.0
RETRY_AFTER = "retry-after"  # what holds a request back when the server said to wait


def _arrived_out_of_order(previous: BucketState, bucket: Bucket, received_at: float) -> bool:
    """Concurrent calls' responses arrive in any order. Use only lowers a bucket, so a response
    that reports more than the previous one projects to, moments later, describes an earlier
    moment at the server: keep the lower value."""
    if abs(received_at - previous.observed_at) > REORDER_WINDOW_S or bucket.remaining is None:
        return False  # seconds apart (or the clock jumped): this is news
    if previous.bucket.limit != bucket.limit:
        return False  # the limit itself changed: that is news
    seen = previous.bucket.remaining
    if seen is None or bucket.remaining <= seen:
        return False  # no less than it projects to: a projection only ever rises from `seen`
    projected = previous.projected_remaining(received_at)
    return projected is not None and bucket.remaining > projected + 1e-9


@dataclass(frozen=True, slots=True)
class Fit:
    """Whether a request fits the known limits now, else how long until it does."""

    ok: bool
    wait_s: float | None  # None when it never fits or the wait is unknown
    blocking: str | None  # id of the bucket that holds it back


class QuotaState:
    """Last known value of every bucket, merged from the snapshots of successive responses.

    Immutable: `merged` returns a new state, so a message can carry one to the widgets and
    nobody draws from a picture that changes under it."""

    __slots__ = ("_states", "last")

    def __init__(self, states: dict[str, BucketState] | None = None,
                 last: RateLimitSnapshot | None = None) -> None:
        self._states: dict[str, BucketState] = states or {}
        self.last = last  # the latest response merged in

    def merged(self, snapshot: RateLimitSnapshot) -> QuotaState:
        """This state with one more response, in the order responses arrived. Unknown values
        never overwrite known ones, and a value that can only be older news (see
        _arrived_out_of_order) does not roll a bucket back."""
        states = dict(self._states)
        received_at = snapshot.received_at
        carried = set()  # the ids the response confirms
        for bucket in snapshot.buckets:
            bucket_id = bucket.id
            previous = states.get(bucket_id)
            if not bucket.known:
                if previous is None:
                    states[bucket_id] = BucketState(bucket, received_at)
                continue
            carried.add(bucket_id)
            if previous is not None and _arrived_out_of_order(previous, bucket, received_at):
                states[bucket_id] = replace(previous, stale=False)  # confirmed, if older
                continue
            if bucket.window_s is None and previous and previous.bucket.window_s is not None:
                # A full bucket does not show its window; the last inference still holds.
                bucket = replace(bucket, window_s=previous.bucket.window_s,
                                 window_source=previous.bucket.window_source)
            states[bucket_id] = BucketState(bucket, received_at)
        for bucket_id, state in self._states.items():
            if bucket_id not in carried and not state.stale:
                states[bucket_id] = replace(state, stale=True)
        if len(states) > MAX_BUCKETS:  # ids that came and went: the newest news stays
            newest = sorted(states.values(), key=lambda s: (not s.stale, s.observed_at))
            states = {s.bucket.id: s for s in newest[-MAX_BUCKETS:]}
        return QuotaState(states, snapshot)

    def remembered(self) -> QuotaState:
        """This picture as a memory of an earlier run: every bucket stale until a response
        confirms it, and no refusal to wait out (that was then)."""
        return QuotaState({k: replace(s, stale=True) for k, s in self._states.items()})

    def buckets(self) -> list[BucketState]:
        """All buckets: requests first, then tokens, then the rest."""
        return sorted(self._states.values(), key=lambda s: display_order(s.bucket))

    def get(self, bucket_id: str) -> BucketState | None:
        return self._states.get(bucket_id)

    def binding(self, now: float) -> BucketState | None:
        """The bucket that runs out first: the lowest projected share left (ties: the one that
        takes longest to refill)."""
        known = [(f, s) for s in self._states.values()
                 if (f := s.projected_fraction(now)) is not None]
        if not known:
            return None
        return min(known, key=lambda fs: (fs[0], -(fs[1].reset_in(now) or 0.0)))[1]

    def retry_wait(self, now: float) -> float | None:
        """After a refused response: the rest of the longest wait it asked for; after a 429
        without one, until its spent buckets have room again (Anthropic's 2024 429s had no
        retry-after). None otherwise."""
        last = self.last
        if last is None or last.status is None or last.status < 400:
            return None
        asked = last.wait_left(now)
        if asked is not None or not last.throttled:
            return asked
        return refill_wait(last, now)

    def refused_unseen(self) -> bool:
        """The last response was a 429 and none of the limits it reported is spent: what
        refused it is a limit the headers do not describe (a proxy's own, like LiteLLM's)."""
        last = self.last
        return last is not None and last.throttled and not any(
            b.remaining == 0 for b in last.buckets)

    def fits(self, tokens: int, now: float) -> Fit:
        """Would one request charging `tokens` tokens (prompt + max_tokens) go through now?"""
        last = self.last
        asked = last.wait_left(now) if last is not None and (last.status or 0) >= 400 else None
        if asked:
            return Fit(False, asked, RETRY_AFTER)
        worst: tuple[float | None, str] | None = None
        for state in self._states.values():
            metric = state.bucket.metric
            need = 1 if metric in REQUEST_METRICS else tokens if metric in TOKEN_METRICS else 0
            if not need:
                continue
            wait = state.wait_for(need, now)
            if wait == 0.0:
                continue
            if wait is None or worst is None or (worst[0] is not None and wait > worst[0]):
                worst = (wait, state.bucket.id)
                if wait is None:
                    break
        if worst is None:
            return Fit(True, 0.0, None)
        return Fit(False, worst[0], worst[1])
