"""What to do after a failed attempt: a pure function from what the attempt showed to a decision.

The client gathers the facts (status, headers, error body, how the connection failed) and
applies the decision (wait and retry, or stop); nothing here touches state, the clock or a
random source, so every rule below is tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ratelimit_tui.core.events import Outcome
from ratelimit_tui.core.format import compact_duration
from ratelimit_tui.core.model import RateLimitSnapshot, is_throttled
from ratelimit_tui.core.quota import refill_wait

MAX_BACKOFF_S = 8.0


class Failure(StrEnum):
    """How an attempt failed, before any judgement of it."""

    TIMEOUT = "timeout"  # no head within the timeout
    CONNECTION = "connection"  # no head: refused, reset, DNS, TLS
    STATUS = "status"  # a head with an error status
    CUT = "cut"  # the head came, then the connection dropped
    STALLED = "stalled"  # the head came, then no data within the timeout
    TOO_BIG = "too_big"  # the head came, then more body than the cap
    HEAD_TOO_BIG = "head_too_big"  # the head itself was over the HTTP client's limit
    REFUSED = "refused"  # the SDK would not send the request


@dataclass(frozen=True, slots=True)
class Attempt:
    failure: Failure
    number: int  # 1 for the first attempt
    status: int | None = None
    snapshot: RateLimitSnapshot | None = None  # the head, completed from the error body
    error: dict[str, Any] = field(default_factory=dict)  # the body's error object
    html: bool = False  # the body is an HTML page
    partial: bool = False  # part of the answer had arrived
    reason: str = ""  # words for a connection failure or a refused request (scrubbed)


@dataclass(frozen=True, slots=True)
class Policy:
    host: str
    model: str
    timeout_s: float
    retry_cap_s: float
    completion_tokens: bool = False  # the request already says max_completion_tokens


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    message: str
    wait_s: float | None  # retry after this long; None: this attempt was the last
    again: bool = False  # retry at once, uncounted: the model wants max_completion_tokens


def backoff(number: int, luck: float) -> float:
    """Exponential, spread by `luck` in [0, 1) so that clients do not retry in step."""
    return min(MAX_BACKOFF_S, 0.5 * 2 ** (number - 1)) * (0.75 + 0.25 * luck)


def classify(attempt: Attempt, policy: Policy, now: float, luck: float) -> Decision:
    """The outcome of a failed attempt and how long to wait before the next one: never less
    than any retry-after the response carried, and never beyond the retry cap."""
    outcome, message, wait, again = _judge(attempt, policy, now, luck)
    if wait is None:
        return Decision(outcome, message, None, again)
    asked = attempt.snapshot.wait_left(now) if attempt.snapshot is not None else None
    if asked is not None:
        wait = max(wait, asked)
    if wait > policy.retry_cap_s:
        return Decision(outcome, f"{message}: the wait ({compact_duration(wait)}) is longer "
                        f"than the retry cap ({compact_duration(policy.retry_cap_s)})", None)
    if is_throttled(attempt.status):  # spread the retries of many clients told the same,
        # within the cap: later than asked, never later than the user allows
        wait = min(policy.retry_cap_s, wait + luck * min(1.0, 0.1 * wait + 0.05))
    return Decision(outcome, message, wait)


def _judge(attempt: Attempt, policy: Policy, now: float,
           luck: float) -> tuple[Outcome, str, float | None, bool]:
    """(outcome, message, the least wait before a retry or None, retry at once)."""
    retry = backoff(attempt.number, luck)
    failure = attempt.failure
    if failure is Failure.TIMEOUT:
        return (Outcome.TIMEOUT, f"no response head within {policy.timeout_s:g} s", retry,
                False)
    if failure is Failure.HEAD_TOO_BIG:
        return (Outcome.ERROR, f"{policy.host} answered with a response head over the "
                "100 KiB the HTTP client reads: not read", None, False)
    if failure is Failure.CONNECTION:
        return Outcome.CONNECTION, f"cannot reach {policy.host}: {attempt.reason}", retry, False
    if failure in (Failure.CUT, Failure.STALLED, Failure.TOO_BIG):
        message = attempt.reason or (
            f"the server stopped sending for {policy.timeout_s:g} s"
            if failure is Failure.STALLED else "the connection dropped mid-answer")
        if attempt.partial:  # a retry would pay again for what the user has already seen
            return Outcome.CUT, message + "; the partial answer is kept", None, False
        if failure is Failure.TOO_BIG:  # the same request would get the same answer
            return Outcome.CUT, message, None, False
        return Outcome.CUT, message, retry, False
    if failure is Failure.REFUSED or attempt.status is None:
        return Outcome.BAD_REQUEST, attempt.reason or "the request was refused", None, False
    return _judge_status(attempt, policy, now, retry)


def _judge_status(attempt: Attempt, policy: Policy, now: float,
                  retry: float) -> tuple[Outcome, str, float | None, bool]:
    status = attempt.status or 0
    said = " ".join(str(attempt.error.get("message") or "").split())[:300]  # one line
    if not said and attempt.html:
        said = "the server answered with an HTML error page"
    code = attempt.error.get("code") or attempt.error.get("type")
    snapshot = attempt.snapshot
    if is_throttled(status) and code == "insufficient_quota":
        return (Outcome.NO_QUOTA, "out of quota (insufficient_quota): the account has no "
                "credit left; waiting will not help, check billing", None, False)
    if status == 413 or (is_throttled(status) and "too large" in said.lower()):
        return Outcome.TOO_LARGE, f"request too large for the limit: {said}", None, False
    if snapshot is not None and snapshot.should_retry is False and (
            status in (408, 409, 429) or status >= 500):
        outcome = Outcome.RATE_LIMITED if is_throttled(status) else Outcome.SERVER
        return (outcome, f"{status}: {said or 'refused'} (the server says not to retry)",
                None, False)
    if is_throttled(status):
        exhausted = [] if snapshot is None else [b for b in snapshot.buckets if b.remaining == 0]
        where = f" on {', '.join(b.id for b in exhausted)}" if exhausted else ""
        message = f"429 rate limited{where}" + (f": {said}" if said else "")
        if snapshot is not None and snapshot.wait_left(now) is not None:
            return Outcome.RATE_LIMITED, message, 0.0, False  # the server's word: see classify
        refill = refill_wait(snapshot, now) if snapshot is not None else None
        return Outcome.RATE_LIMITED, message, refill or retry, False
    if status == 401:
        return (Outcome.AUTH, "the API key was rejected (401): check OPENAI_API_KEY or the "
                "key for this endpoint", None, False)
    if status == 403:
        return Outcome.AUTH, f"access denied (403): {said or 'forbidden'}", None, False
    if status == 404:
        return (Outcome.NOT_FOUND, f"unknown model {policy.model!r} or endpoint (404): "
                f"{said or 'not found'}", None, False)
    if status in (408, 409):
        return Outcome.SERVER, f"{status}: {said or 'try again'}", retry, False
    if status >= 500:
        return Outcome.SERVER, f"server error {status}: {said or 'no details'}", retry, False
    if "max_completion_tokens" in said and not policy.completion_tokens:
        return Outcome.BAD_REQUEST, said, None, True  # reasoning models want this name
    return Outcome.BAD_REQUEST, f"request rejected ({status}): {said or 'no details'}", None, False
