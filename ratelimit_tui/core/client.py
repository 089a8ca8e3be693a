"""QuotaClient: every call through the SDK's raw-response paths, every HTTP response observed.

The SDK's own retries are off (they would hide 429s); this client retries itself, visibly: each
wait is reported before it starts, so a UI can show "retrying in 3 s" and let the user cancel.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

from ratelimit_tui.core.body import error_info, with_body_hints
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.events import (
    CallRecord,
    Event,
    Outcome,
    ResponseObserved,
    RetryScheduled,
    Usage,
)
from ratelimit_tui.core.format import compact_duration
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.model import RateLimitSnapshot
from ratelimit_tui.core.quota import BucketState, QuotaState
from ratelimit_tui.core.secret import scrub

PROBE_MESSAGES = ({"role": "user", "content": "ping"},)
TextSink = Callable[[str], Awaitable[None] | None]  # gets each streamed delta; may be async


@dataclass
class _Trace:
    """What the event hooks saw of the current call's latest attempt."""

    kind: str
    attempt: int = 0
    sent: float | None = None  # perf_counter when the request went out
    status: int | None = None
    ttfb_s: float | None = None
    request_id: str | None = None
    snapshot: RateLimitSnapshot | None = None
    ttft_s: float | None = None  # streaming: request sent -> first token
    parts: list[str] = field(default_factory=list)


class _Failure(Exception):
    """A classified failed attempt: retried after `wait_s`, or final when that is None.
    `again` asks for one immediate retry that does not count (a renamed parameter)."""

    def __init__(self, outcome: str, message: str, wait_s: float | None,
                 again: bool = False) -> None:
        super().__init__(message)
        self.outcome, self.message, self.wait_s, self.again = outcome, message, wait_s, again


class QuotaClient:
    def __init__(self, endpoint: Endpoint, model: str, probe_model: str | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        """`clock` stamps responses (epoch seconds), `timer` measures latencies: both are
        injectable so that a test can freeze what the dashboard shows."""
        self.endpoint = endpoint
        self._clock, self._timer = clock, timer
        self.model = model
        self.probe_model = probe_model
        self.state = QuotaState()
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._trace: ContextVar[_Trace | None] = ContextVar("ratelimit_trace", default=None)
        self._completion_models: set[str] = set()  # models that want max_completion_tokens
        http = openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [self._on_request], "response": [self._on_response]})
        self._sdk = openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key.get(),
            organization=endpoint.organization, project=endpoint.project,
            max_retries=0, timeout=endpoint.timeout_s, http_client=http)

    def __repr__(self) -> str:
        return f"QuotaClient(host={self.endpoint.host!r}, model={self.model!r})"

    async def aclose(self) -> None:
        await self._sdk.close()

    # --- the event hooks: every attempt's head, before its body is read ---------------------

    async def _on_request(self, request: httpx2.Request) -> None:
        trace = self._trace.get()
        if trace is not None:
            trace.sent = self._timer()

    async def _on_response(self, response: httpx2.Response) -> None:
        received = self._clock()
        trace = self._trace.get()
        ttfb = self._timer() - trace.sent if trace and trace.sent is not None else 0.0
        pairs = response.headers.multi_items()  # decoded once: Headers.get() decodes each time
        snapshot = parse_rate_limit_headers(pairs, received, response.status_code)
        self.state.update(snapshot)
        request_id = next((v for k, v in pairs if k in ("x-request-id", "request-id")), None)
        if trace is not None:
            trace.status, trace.ttfb_s = response.status_code, ttfb
            trace.request_id, trace.snapshot = request_id, snapshot
        self._emit(ResponseObserved(snapshot, ttfb, trace.attempt if trace else 1, request_id,
                                    tuple(pairs), trace.kind if trace else "chat"))

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    # --- calls ------------------------------------------------------------------------------

    async def probe(self, model: str | None = None, kind: str = "probe") -> CallRecord:
        """The cheapest call that returns rate-limit headers: one attempt, max_tokens=1."""
        return await self.chat(list(PROBE_MESSAGES), model=model or self.probe_model or self.model,
                               stream=False, max_tokens=1, kind=kind, retries=0)

    async def poll_forever(self, interval_s: float) -> None:
        """Probe, wait, probe... The next probe is scheduled only after the last one finished,
        so two never overlap however slow the endpoint; after a 429 it waits out the
        retry-after instead of asking again. Runs until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(max(interval_s, self.state.retry_wait(self._clock()) or 0.0))

    async def chat(self, messages: list[dict[str, Any]], *, model: str | None = None,
                   stream: bool = True, max_tokens: int | None = None,
                   on_text: TextSink | None = None, kind: str = "chat",
                   retries: int | None = None) -> CallRecord:
        """One logical call with this client's retries. Cancelling the task that awaits it
        closes the stream, keeps the partial text and records the call as cancelled."""
        model = model or self.model
        retries = self.endpoint.max_retries if retries is None else retries
        trace = _Trace(kind)
        token = self._trace.set(trace)
        started_at, started = self._clock(), self._timer()
        usage: Usage | None = None
        throttled = 0
        free_retry = True

        def record(outcome: str, error: str | None = None) -> CallRecord:
            return CallRecord(
                kind=kind, model=model, started_at=started_at, outcome=outcome,
                status=trace.status, attempts=trace.attempt, throttled=throttled,
                latency_s=self._timer() - started, ttfb_s=trace.ttfb_s,
                ttft_s=trace.ttft_s, usage=usage, request_id=trace.request_id,
                text="".join(trace.parts), error=error, snapshot=trace.snapshot)

        try:
            while True:
                trace.attempt += 1
                trace.status = trace.ttfb_s = trace.request_id = trace.snapshot = None
                try:
                    if stream:
                        usage = await self._stream(model, messages, max_tokens, trace, on_text)
                    else:
                        usage = await self._complete(model, messages, max_tokens, trace)
                    result = record(Outcome.OK)
                    break
                except _Failure as failure:
                    throttled += trace.status == 429
                    if failure.again and free_retry:
                        free_retry, trace.attempt = False, trace.attempt - 1
                        continue
                    if failure.wait_s is None or trace.attempt > retries:
                        result = record(failure.outcome, failure.message)
                        break
                    self._emit(RetryScheduled(failure.wait_s, failure.message, trace.attempt + 1,
                                              kind))
                    await asyncio.sleep(failure.wait_s)
        except asyncio.CancelledError:
            self._emit(record(Outcome.CANCELLED, "cancelled"))
            raise
        except Exception as exc:  # an SDK surprise: one scrubbed line, not a traceback whose
            # locals would show the request's Authorization header
            result = record(Outcome.ERROR, f"unexpected {type(exc).__name__}: "
                            f"{self._scrub(str(exc))[:200]}")
        finally:
            self._trace.reset(token)
        self._emit(result)
        return result

    def _token_args(self, model: str, max_tokens: int | None) -> dict[str, int]:
        if max_tokens is None:
            return {}
        name = "max_completion_tokens" if model in self._completion_models else "max_tokens"
        return {name: max_tokens}

    async def _complete(self, model: str, messages: list[dict[str, Any]], max_tokens: int | None,
                        trace: _Trace) -> Usage | None:
        try:
            raw = await self._sdk.chat.completions.with_raw_response.create(
                model=model, messages=messages, **self._token_args(model, max_tokens))
            completion = raw.parse()
        except openai.APIError as exc:
            raise self._classify(exc, model, trace) from None
        if completion.choices:
            trace.parts.append(completion.choices[0].message.content or "")
        return _usage(completion.usage)

    async def _stream(self, model: str, messages: list[dict[str, Any]], max_tokens: int | None,
                      trace: _Trace, on_text: TextSink | None) -> Usage | None:
        usage = None
        try:
            async with self._sdk.chat.completions.with_streaming_response.create(
                    model=model, messages=messages, stream=True,
                    stream_options={"include_usage": True},
                    **self._token_args(model, max_tokens)) as response:
                async for chunk in await response.parse():
                    usage = _usage(chunk.usage) or usage
                    for choice in chunk.choices:
                        delta = choice.delta.content
                        if delta:
                            if trace.ttft_s is None and trace.sent is not None:
                                trace.ttft_s = self._timer() - trace.sent
                            trace.parts.append(delta)
                            if on_text and inspect.isawaitable(shown := on_text(delta)):
                                await shown
        except openai.APIError as exc:
            raise self._classify(exc, model, trace) from None
        except httpx2.TransportError as exc:  # mid-stream: the head arrived, the body broke
            raise self._cut(trace, isinstance(exc, httpx2.TimeoutException)) from None
        return usage

    def _cut(self, trace: _Trace, stalled: bool) -> _Failure:
        """The head came, the body broke. Retried only if nothing of the answer arrived: a
        retry would pay again for what the user has already seen."""
        message = (f"the stream stalled (no data for {self.endpoint.timeout_s:g} s)"
                   if stalled else "the connection dropped mid-answer")
        if trace.parts:
            return _Failure(Outcome.CUT, message + "; the partial answer is kept", None)
        return _Failure(Outcome.CUT, message, self._backoff(trace.attempt))

    # --- classification ----------------------------------------------------------------------

    def _classify(self, exc: openai.APIError, model: str, trace: _Trace) -> _Failure:
        attempt = trace.attempt
        if isinstance(exc, openai.APITimeoutError):
            return _Failure(Outcome.TIMEOUT, f"no response within {self.endpoint.timeout_s:g} s",
                            self._backoff(attempt))
        if isinstance(exc, openai.APIConnectionError):
            if trace.status is not None:
                return self._cut(trace, stalled=False)
            reason = self._scrub(_connection_reason(exc.__cause__))
            return _Failure(Outcome.CONNECTION, f"cannot reach {self.endpoint.host}: {reason}",
                            self._backoff(attempt))
        if not isinstance(exc, openai.APIStatusError):
            return _Failure(Outcome.BAD_REQUEST, self._scrub(str(exc)), None)
        status = exc.status_code
        response = exc.response
        body = response.text if response is not None else ""
        seen = trace.snapshot or parse_rate_limit_headers(
            response.headers, self._clock(), status)
        snapshot = with_body_hints(seen, body)
        if snapshot.buckets != seen.buckets or trace.snapshot is None:
            self.state.update(snapshot)  # the body told more than the headers (OpenRouter)
        trace.snapshot = snapshot
        error = error_info(body)
        said = self._scrub(str(error.get("message") or "")).strip()
        if not said and "html" in response.headers.get("content-type", ""):
            said = "the server answered with an HTML error page"
        code = error.get("code") or error.get("type")
        if status == 429 and code == "insufficient_quota":
            return _Failure(Outcome.NO_QUOTA, "out of quota (insufficient_quota): the account "
                            "has no credit left; waiting will not help, check billing", None)
        if status == 413 or (status == 429 and "too large" in said.lower()):
            return _Failure(Outcome.TOO_LARGE, f"request too large for the limit: {said}", None)
        if snapshot.should_retry is False and (status in (408, 409, 429) or status >= 500):
            return _Failure(Outcome.RATE_LIMITED if status == 429 else Outcome.SERVER,
                            f"{status}: {said or 'refused'} (the server says not to retry)",
                            None)
        if status == 429:
            return self._rate_limited(snapshot)
        if status == 401:
            return _Failure(Outcome.AUTH, "the API key was rejected (401): check "
                            "OPENAI_API_KEY or the key for this endpoint", None)
        if status == 403:
            return _Failure(Outcome.AUTH, f"access denied (403): {said or 'forbidden'}", None)
        if status == 404:
            return _Failure(Outcome.NOT_FOUND, f"unknown model {model!r} or endpoint (404): "
                            f"{said or 'not found'}", None)
        if status in (408, 409):
            return _Failure(Outcome.SERVER, f"{status}: {said}", self._backoff(attempt))
        if status >= 500:
            return _Failure(Outcome.SERVER, f"server error {status}: {said or 'no details'}",
                            self._backoff(attempt))
        if "max_completion_tokens" in said and model not in self._completion_models:
            self._completion_models.add(model)  # reasoning models want this name
            return _Failure(Outcome.BAD_REQUEST, said, None, again=True)
        return _Failure(Outcome.BAD_REQUEST, f"request rejected ({status}): {said}", None)

    def _rate_limited(self, snapshot: RateLimitSnapshot) -> _Failure:
        """Wait what this 429's retry-after(-ms) says, else until its exhausted buckets have
        room again: one request in a request bucket, a full token bucket (the size of the
        next request is not known)."""
        now = self._clock()
        exhausted = [b for b in snapshot.buckets if b.remaining == 0]
        where = f" on {', '.join(b.id for b in exhausted)}" if exhausted else ""
        wait = snapshot.retry_after_s
        if wait is not None:
            wait = max(0.0, snapshot.received_at + wait - now)
        elif exhausted:
            waits = [BucketState(b, snapshot.received_at).wait_for(1, now)
                     if b.metric == "requests" else BucketState(b, snapshot.received_at)
                     .reset_in(now) for b in exhausted]
            known = [w for w in waits if w is not None]
            wait = max(known) if known else None
        if wait is None:
            wait = self._backoff(1)
        if wait > self.endpoint.retry_cap_s:
            return _Failure(Outcome.RATE_LIMITED, f"rate limited{where}: the wait "
                            f"({compact_duration(wait)}) is longer than the retry cap "
                            f"({compact_duration(self.endpoint.retry_cap_s)})", None)
        jitter = self._rng.uniform(0.0, min(1.0, 0.1 * wait + 0.05))
        return _Failure(Outcome.RATE_LIMITED, f"429 rate limited{where}", wait + jitter)

    def _backoff(self, attempt: int) -> float:
        return min(8.0, 0.5 * 2 ** (attempt - 1)) * self._rng.uniform(0.75, 1.0)

    def _scrub(self, text: str) -> str:
        return scrub(text, self.endpoint.api_key)


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def _connection_reason(cause: BaseException | None) -> str:
    """The root of a connection failure in a few words (async errors wrap it several deep)."""
    chain = []
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for error in chain:
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(error, ssl.SSLError):
            return "TLS failed"
        if isinstance(error, ConnectionResetError):
            return "connection reset"
    return str(chain[-1]) if chain else "connection error"
