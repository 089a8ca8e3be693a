"""What the quota client reports while it works. Plain data: the dashboard turns each into a
Textual message, a script can print it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from ratelimit_tui.core.frozen import frozen

if TYPE_CHECKING:
    from ratelimit_tui.core.model import RateLimitSnapshot
    from ratelimit_tui.core.quota import QuotaState


@frozen
class Usage:
    """Token counts from the API's `usage`; a count the server left out is None, not 0."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class CallKind(StrEnum):
    CHAT = "chat"
    PROBE = "probe"  # a minimal call: F5, polling, the probe command
    BURST = "burst"  # one of /burst's concurrent minimal calls


class Outcome(StrEnum):
    OK = "ok"
    CANCELLED = "cancelled"
    RATE_LIMITED = "rate_limited"  # 429s that outlasted the retries or the cap
    TOO_LARGE = "too_large"  # larger than a whole bucket: waiting never helps
    NO_QUOTA = "insufficient_quota"  # billing: waiting never helps
    AUTH = "auth"  # 401, 403
    NOT_FOUND = "not_found"  # 404: usually an unknown model
    BAD_REQUEST = "bad_request"  # other 4xx
    SERVER = "server_error"  # 5xx
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS...
    CUT = "cut"  # the connection dropped mid-answer
    ERROR = "error"  # anything else: reported, never allowed to take the app down

    @property
    def text(self) -> str:
        """As a sentence says it: 'rate limited', 'server error'."""
        return self.value.replace("_", " ")

    @property
    def broken(self) -> bool:
        """The endpoint cannot be used as things stand (key, model, network, server): the
        connection state leaves 'live'. A 429, a cancel or a too-large request say nothing
        against the endpoint."""
        return self not in (Outcome.OK, Outcome.RATE_LIMITED, Outcome.CANCELLED,
                            Outcome.TOO_LARGE)


@frozen
class ResponseObserved:
    """One HTTP response's head, as soon as it arrived (every attempt, retries included), and
    the picture of every limit once it was merged in: what the gauges draw."""

    snapshot: RateLimitSnapshot
    quota: QuotaState
    ttfb_s: float  # request sent -> headers received
    attempt: int
    request_id: str | None
    headers: tuple[tuple[str, str], ...]  # as received; redact before showing
    kind: CallKind


@frozen
class RetryScheduled:
    wait_s: float
    reason: str  # human text: "429 on tokens", "server error 503", ...
    attempt: int  # the attempt that will follow the wait
    kind: CallKind


@frozen
class CallRecord:
    """One logical call (all its attempts) as it ended."""

    kind: CallKind
    model: str
    started_at: float  # epoch seconds
    outcome: Outcome
    status: int | None  # HTTP status of the last response; None when none came
    attempts: int
    throttled: int  # how many of the attempts got a 429
    latency_s: float  # start -> end, waits included
    ttfb_s: float | None  # last attempt: request sent -> headers
    ttft_s: float | None  # streaming: request sent -> first token
    usage: Usage | None
    request_id: str | None
    text: str = ""  # the answer, or what arrived of it
    error: str | None = None  # human message, never containing the key
    snapshot: RateLimitSnapshot | None = None  # of the last response

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK


Event = ResponseObserved | RetryScheduled | CallRecord
