"""QuotaClient: every call through the SDK's raw-response paths, every HTTP response observed.

The SDK's own retries are off (they would hide 429s); this client retries itself, visibly: each
wait is reported before it starts, so a UI can show "retrying in 3 s" and let the user cancel.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import httpx2

from ratelimit_tui.core.attempts import Attempt, Decision, Failure, Policy, classify
from ratelimit_tui.core.body import error_info, with_body_hints
from ratelimit_tui.core.bounded import (
    BodyStalled,
    BodyTooLarge,
    Limits,
    Watch,
    Watchdog,
    bound,
)
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.events import (
    CallKind,
    CallRecord,
    Event,
    Outcome,
    ResponseObserved,
    RetryScheduled,
    Usage,
)
from ratelimit_tui.core.headers import parse_rate_limit_headers, request_id_of
from ratelimit_tui.core.model import RateLimitSnapshot, is_throttled
from ratelimit_tui.core.quota import QuotaState
from ratelimit_tui.core.sdk import openai
from ratelimit_tui.core.secret import scrub

PROBE_MESSAGES = ({"role": "user", "content": "ping"},)
CHAT_PATH = "/chat/completions"
MAX_MODELS = 1000  # an endpoint's list of models, as far as a picker shows it
# Connections open at once. The HTTP client's pool scans all of its connections for every
# request it places, on the UI's event loop: with 200 open (a /burst 200), typing lagged by
# a quarter of a second. More calls than this queue for a connection.
MAX_CONNECTIONS = 16
MAX_ANSWER_CHARS = 400_000  # about 100k tokens, more than any model writes in one answer
TextSink = Callable[[str], Awaitable[None] | None]  # gets each streamed delta; may be async


class _Trace:
    """What the event hooks saw of the current call's latest attempt. Its fields' defaults
    are the class's, and an instance sets only what it changes: a call makes one, and a
    dataclass's __init__ set all twelve."""

    attempt: int = 0
    sent: float | None = None  # perf_counter when the request went out
    status: int | None = None
    ttfb_s: float | None = None
    request_id: str | None = None
    snapshot: RateLimitSnapshot | None = None
    ttft_s: float | None = None  # streaming: request sent -> first token
    headers: tuple[tuple[str, str], ...] = ()
    watch: Watch | None = None  # the time limits of the attempt's response
    completion_tokens: bool = False  # the attempt's request named max_completion_tokens
    chars: int = 0  # of the answer so far

    def __init__(self, kind: CallKind) -> None:
        self.kind = kind
        self.parts: list[str] = []  # the answer's


class ModelsUnlisted(Exception):
    """The endpoint did not list its models; the message is safe to show."""


class _Failed(Exception):
    """An attempt failed; `decision` says whether and when to try again."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message)
        self.decision = decision


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client of this process shares (SSLContext is safe to
    share): building one reads the system's CA bundle, 40-80 ms here, which each client paid
    for itself, on the UI's thread."""
    return httpx2.create_ssl_context()


def tls_for(endpoint: Endpoint) -> ssl.SSLContext:
    """The built-in simulator speaks plain HTTP and never redirects: its client gets a context
    that trusts no one (verification on, no CA: it would refuse any TLS peer) and demo mode's
    first gauge does not wait for the CA bundle."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if endpoint.embedded else tls_context()


class QuotaClient:
    def __init__(self, endpoint: Endpoint, model: str, probe_model: str | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time,
                 timer: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 limits: Limits | None = None,
                 on_sent: Callable[[], None] | None = None) -> None:
        """`clock` stamps responses (epoch seconds), `timer` measures latencies, `sleep` waits
        before retries and between polls: all injectable, so that a test can run a minute of
        waiting on a scripted clock in no time. `limits` bound every body read (by default from
        the endpoint's timeout and stream limit, and the caps in core/bounded.py). `on_sent` is
        called once, when the first request is written: the dashboard does then what its
        first gauge need not wait for, while the endpoint answers."""
        self.endpoint = endpoint
        self._clock, self._timer, self._sleep = clock, timer, sleep
        self.model = model
        self.probe_model = probe_model
        self.quota = QuotaState()  # replaced, never changed: events carry it to the UI
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._trace: ContextVar[_Trace | None] = ContextVar("ratelimit_trace", default=None)
        self._completion_models: set[str] = set()  # models that want max_completion_tokens
        self._on_sent = on_sent
        self._limits = limits or Limits(idle_s=endpoint.timeout_s, body_s=endpoint.timeout_s,
                                        total_s=endpoint.stream_limit_s)
        self._watchdog = Watchdog()  # times every response's head and body
        http = openai.DefaultAsyncHttpxClient(
            verify=tls_for(endpoint),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
            limits=httpx2.Limits(max_connections=MAX_CONNECTIONS,
                                 max_keepalive_connections=MAX_CONNECTIONS))
        self._sdk = openai.AsyncOpenAI(
            base_url=endpoint.sdk_url, api_key=endpoint.api_key.get(),
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
        if self._on_sent is not None:  # this hook runs before the connection is made
            request.extensions["trace"] = self._written

    async def _written(self, step: str, info: dict[str, Any]) -> None:
        """The HTTP client's trace of a request until `on_sent` is called."""
        if step.endswith(".send_request_body.complete") and self._on_sent is not None:
            on_sent, self._on_sent = self._on_sent, None
            on_sent()

    async def _on_response(self, response: httpx2.Response) -> None:
        received = self._clock()
        trace = self._trace.get()
        ttfb = self._timer() - trace.sent if trace and trace.sent is not None else 0.0
        pairs = _decoded(response.headers)  # kept as they came, for the event and the trace
        fields = dict(pairs)  # a repeated name keeps its last value
        # Headers.get() joins a repeated field's values: only then is it asked
        content_type = (fields.get("content-type", "") if len(fields) == len(pairs)
                        else response.headers.get("content-type", ""))
        bound(response, self._limits, content_type, trace.watch if trace else None,
              self._watchdog)
        if not response.request.url.path.endswith(CHAT_PATH):
            return  # the list of models: no quota of the chat's to read there
        snapshot = parse_rate_limit_headers(pairs, received, response.status_code)
        request_id = request_id_of(fields)
        if trace is not None:
            trace.status, trace.ttfb_s = response.status_code, ttfb
            trace.request_id, trace.snapshot, trace.headers = request_id, snapshot, pairs
        self._observe(snapshot, ttfb, trace, request_id, pairs)

    def _observe(self, snapshot: RateLimitSnapshot, ttfb: float, trace: _Trace | None,
                 request_id: str | None, headers: tuple[tuple[str, str], ...]) -> None:
        self.quota = self.quota.merged(snapshot)
        if self._on_event is not None:  # an event nobody reads is not built
            self._on_event(ResponseObserved(snapshot, self.quota, ttfb,
                                            trace.attempt if trace else 1, request_id, headers,
                                            trace.kind if trace else CallKind.CHAT))

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    # --- calls ------------------------------------------------------------------------------

    async def probe(self, model: str | None = None,
                    kind: CallKind = CallKind.PROBE) -> CallRecord:
        """The cheapest call that returns rate-limit headers: one attempt, max_tokens=1."""
        return await self.chat(list(PROBE_MESSAGES), model=model or self.probe_model or self.model,
                               stream=False, max_tokens=1, kind=kind, retries=0)

    async def models(self) -> list[str]:
        """The endpoint's models (GET /models), sorted. Raises ModelsUnlisted."""
        ids: list[str] = []
        try:
            async for model in await self._sdk.models.list():
                ids.append(model.id)
                if len(ids) >= MAX_MODELS:
                    break
        except openai.APIStatusError as exc:  # its str is the SDK's dump of the body
            said = " ".join(str(error_info(exc.response.text).get("message") or "").split())
            raise ModelsUnlisted(self._scrub(f"the endpoint answered {exc.status_code}" + (
                f": {said[:300]}" if said else ""))) from None
        except (openai.APIError, httpx2.HTTPError, OSError, ValueError) as exc:
            raise ModelsUnlisted(self._scrub(str(exc) or type(exc).__name__)) from None
        return sorted(ids)

    async def poll_forever(self, interval_s: float,
                           on_record: Callable[[CallRecord], None] | None = None) -> None:
        """Probe, wait, probe... The next probe is scheduled only after the last one finished,
        so two never overlap however slow the endpoint; after a refusal it waits out the
        retry-after instead of asking again. Runs until cancelled."""
        while True:
            record = await self.probe()
            if on_record is not None:
                on_record(record)
            now = self._clock()  # its own refusal's wait, and any newer one (a chat's 429)
            asked = record.snapshot.wait_left(now) if record.snapshot is not None else None
            await self._sleep(max(interval_s, asked or 0.0, self.quota.retry_wait(now) or 0.0))
            # A refusal that came while it slept (a chat's 429) is waited out too.
            while (left := self.quota.retry_wait(self._clock()) or 0.0) > 0:
                await self._sleep(left)

    async def chat(self, messages: list[dict[str, Any]], *, model: str | None = None,
                   stream: bool = True, max_tokens: int | None = None,
                   on_text: TextSink | None = None, kind: CallKind = CallKind.CHAT,
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

        def record(outcome: Outcome, error: str | None = None) -> CallRecord:
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
                trace.headers = ()
                try:
                    if stream:
                        usage = await self._stream(model, messages, max_tokens, trace, on_text)
                    else:
                        usage = await self._complete(model, messages, max_tokens, trace)
                    result = record(Outcome.OK)
                    break
                except _Failed as failed:
                    decision = failed.decision
                    throttled += is_throttled(trace.status)
                    if decision.again and free_retry:
                        self._completion_models.add(model)
                        free_retry, trace.attempt = False, trace.attempt - 1
                        continue
                    if decision.wait_s is None or trace.attempt > retries:
                        result = record(decision.outcome, decision.message)
                        break
                    self._emit(RetryScheduled(decision.wait_s, decision.message,
                                              trace.attempt + 1, kind))
                    await self._sleep(decision.wait_s)
        except asyncio.CancelledError:
            self._emit(record(Outcome.CANCELLED))
            raise
        except Exception as exc:  # an SDK surprise: one scrubbed line, not a traceback whose
            # locals would show the request's Authorization header
            result = record(Outcome.ERROR, f"unexpected {type(exc).__name__}: "
                            f"{self._scrub(str(exc))[:200]}")
        finally:
            self._trace.reset(token)
        self._emit(result)
        return result

    def _token_args(self, model: str, max_tokens: int | None,
                    trace: _Trace | None = None) -> dict[str, int]:
        if max_tokens is None:
            return {}
        completion = model in self._completion_models
        if trace is not None:
            trace.completion_tokens = completion
        return {"max_completion_tokens" if completion else "max_tokens": max_tokens}

    async def _complete(self, model: str, messages: list[dict[str, Any]], max_tokens: int | None,
                        trace: _Trace) -> Usage | None:
        try:
            async with self._watch(trace):
                raw = await self._sdk.chat.completions.with_raw_response.create(
                    model=model, messages=messages, **self._token_args(model, max_tokens, trace))
            completion = raw.parse()
        except openai.APIError as exc:
            raise self._failed(exc, model, trace) from None
        except TimeoutError:
            raise self._decide(Attempt(Failure.TIMEOUT, trace.attempt), model) from None
        if completion.choices:
            text = completion.choices[0].message.content or ""
            trace.parts.append(text[:MAX_ANSWER_CHARS])
            if len(text) > MAX_ANSWER_CHARS:
                raise self._decide(_answer_too_long(trace), model)
        return _usage(completion.usage)

    async def _stream(self, model: str, messages: list[dict[str, Any]], max_tokens: int | None,
                      trace: _Trace, on_text: TextSink | None) -> Usage | None:
        usage = None
        try:
            async with self._watch(trace), \
                    self._sdk.chat.completions.with_streaming_response.create(
                        model=model, messages=messages, stream=True,
                        stream_options={"include_usage": True},
                        **self._token_args(model, max_tokens, trace)) as response:
                async for chunk in await response.parse():
                    if chunk.usage is not None:  # the last chunk's
                        usage = _usage(chunk.usage)
                    for choice in chunk.choices:
                        delta = choice.delta.content
                        if delta:
                            if trace.ttft_s is None and trace.sent is not None:
                                trace.ttft_s = self._timer() - trace.sent
                            trace.parts.append(delta)
                            trace.chars += len(delta)
                            if trace.chars > MAX_ANSWER_CHARS:
                                raise self._decide(_answer_too_long(trace), model)
                            if on_text and inspect.isawaitable(shown := on_text(delta)):
                                await shown
        except openai.APIError as exc:
            raise self._failed(exc, model, trace) from None
        except TimeoutError:
            raise self._decide(Attempt(Failure.TIMEOUT, trace.attempt), model) from None
        except httpx2.TransportError as exc:  # mid-stream: the head arrived, the body broke
            raise self._decide(_broken_body(exc, trace), model) from None
        return usage

    def _watch(self, trace: _Trace) -> Watch:
        """`timeout` for the response head, however slowly it trickles (a TimeoutError); once
        it is here the body's own limits take over (see _on_response)."""
        trace.watch = Watch.of_head(self.endpoint.timeout_s, self._watchdog)
        return trace.watch

    # --- failures: gather the facts, let attempts.classify decide ----------------------------

    def _failed(self, exc: openai.APIError, model: str, trace: _Trace) -> _Failed:
        number = trace.attempt
        if isinstance(exc, openai.APIConnectionError) and trace.status is not None:
            return self._decide(_broken_body(exc, trace), model)  # the head came, the body not
        if isinstance(exc, openai.APITimeoutError):
            return self._decide(Attempt(Failure.TIMEOUT, number), model)
        if isinstance(exc, openai.APIConnectionError):
            if _head_too_large(exc):
                return self._decide(Attempt(Failure.HEAD_TOO_BIG, number), model)
            reason = self._scrub(_connection_reason(exc.__cause__))
            return self._decide(Attempt(Failure.CONNECTION, number, reason=reason), model)
        if not isinstance(exc, openai.APIStatusError):
            return self._decide(Attempt(Failure.REFUSED, number, reason=self._scrub(str(exc))),
                                model)
        response = exc.response
        body = response.text if response is not None else ""
        seen = trace.snapshot  # the response hook read this head before the body
        snapshot = with_body_hints(seen, body) if seen is not None else None
        if snapshot is not None and (snapshot.buckets, snapshot.longest_retry_after_s) != (
                seen.buckets, seen.longest_retry_after_s):
            # The body told more than the head (OpenRouter's limits, Gemini's retry delay):
            # the gauges and the next poll's wait must know it too.
            trace.snapshot = snapshot
            self._observe(snapshot, trace.ttfb_s or 0.0, trace, trace.request_id, trace.headers)
        error = dict(error_info(body))
        if error.get("message") is not None:  # any shape: made text first, then scrubbed
            error["message"] = self._scrub(str(error["message"]))
        html = "html" in response.headers.get("content-type", "")
        return self._decide(Attempt(Failure.STATUS, number, exc.status_code, snapshot, error,
                                    html), model)

    def _decide(self, attempt: Attempt, model: str) -> _Failed:
        # What this attempt's request named, not what the client knows by now: a concurrent
        # call may have learned meanwhile that the model wants max_completion_tokens, and this
        # one's refusal of max_tokens still deserves its one retry with it.
        sent = self._trace.get()
        policy = Policy(self.endpoint.host, model, self.endpoint.timeout_s,
                        self.endpoint.retry_cap_s, sent is not None and sent.completion_tokens)
        return _Failed(classify(attempt, policy, self._clock(), self._rng.random()))

    def _scrub(self, text: str) -> str:
        return scrub(text, *self.endpoint.secrets)


def _decoded(headers: httpx2.Headers) -> tuple[tuple[str, str], ...]:
    """What headers.multi_items() gives (names lower-cased, in the head's encoding), in a few
    passes in C whatever the head's length: all names, then all values, joined by a newline
    (which HTTP/1.1 and HTTP/2 parsers refuse in a field), decoded at once and split again.
    multi_items() asks for the encoding twice a field; field by field, the decoding cost more
    than the client's other work on a head. The encoding is worked out once a head and kept
    (the SDK asks for it too)."""
    raw = headers.raw
    if not raw:
        return ()
    encoding = headers.encoding
    names, values = zip(*raw, strict=True)
    names = b"\n".join(names).lower().decode(encoding).split("\n")
    values = b"\n".join(values).decode(encoding).split("\n")
    if len(names) == len(values) == len(raw):
        return tuple(zip(names, values, strict=True))
    return tuple([(name.lower().decode(encoding), value.decode(encoding))  # a field with a
                  for name, value in raw])  # newline in it, from a transport that allows one


def _broken_body(exc: BaseException, trace: _Trace) -> Attempt:
    """The head came, then its body did not: it stopped, ran over a limit, or the connection
    dropped. What arrived of the answer is kept."""
    partial = bool(trace.parts)
    for error in _causes(exc):
        if isinstance(error, BodyTooLarge):
            return Attempt(Failure.TOO_BIG, trace.attempt, trace.status, partial=partial,
                           reason=str(error))
        if isinstance(error, httpx2.TimeoutException):
            return Attempt(Failure.STALLED, trace.attempt, trace.status, partial=partial,
                           reason=str(error) if isinstance(error, BodyStalled) else "")
    return Attempt(Failure.CUT, trace.attempt, trace.status, partial=partial)


def _answer_too_long(trace: _Trace) -> Attempt:
    return Attempt(Failure.TOO_BIG, trace.attempt, trace.status, partial=True,
                   reason=f"the answer passed {MAX_ANSWER_CHARS:,} characters: reading "
                   "stopped there")


def _head_too_large(exc: BaseException) -> bool:
    """The server answered, with a head over the HTTP client's limit (h11's 'Receive buffer
    too long'): not a connection problem, and a retry would get the same."""
    return any(isinstance(error, httpx2.RemoteProtocolError) and "too long" in str(error)
               for error in _causes(exc))


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def _causes(exc: BaseException | None) -> list[BaseException]:
    """An exception and what caused it, outermost first (at most ten deep)."""
    chain = []
    while exc is not None and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _connection_reason(cause: BaseException | None) -> str:
    """The root of a connection failure in a few words (async errors wrap it several deep)."""
    chain = _causes(cause)
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
