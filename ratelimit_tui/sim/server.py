"""The simulator's HTTP app: an OpenAI-compatible /v1/chat/completions (JSON and SSE) and
/v1/models, rate-limited per API key, with optional teammates' traffic and injected faults.

It accepts any bearer key (it is a simulator) and never logs one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import math
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ratelimit_tui.sim.dialects import (
    GARBAGE_HEADERS,
    OPENAI_COOKIE,
    mirrored_error_metadata,
    rate_headers,
)
from ratelimit_tui.sim.limiter import Decision, Limiter, Limits
from ratelimit_tui.sim.names import DIALECTS, FAULT_KINDS, MODELS, REASONING_MODELS

DEFAULT_MAX_TOKENS = 128  # charged when the request names no max_tokens
CHAT_PATH = "/v1/chat/completions"
_WORDS = re.compile(r"\S+\s*")


@dataclass
class SimConfig:
    limits: Limits = field(default_factory=Limits)
    latency_ms: float = 50.0  # before the response headers
    tokens_per_s: float = 40.0  # streaming pace; 0 means as fast as possible
    dialect: str = "openai"
    teammates: int = 0
    teammate_pause_s: tuple[float, float] = (2.0, 6.0)  # between one teammate's requests
    faults: dict[str, float] = field(default_factory=dict)  # kind -> probability per request
    seed: int = 0
    hang_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    log: Callable[[str], None] | None = None


def demo_config() -> SimConfig:
    """Demo mode's simulator, for the dashboard and `probe --demo` alike: limits small enough
    that the quota visibly moves, and teammates to move it."""
    return SimConfig(limits=Limits(rpm=30, tpm=6_000), latency_ms=150.0, tokens_per_s=30.0,
                     teammates=2, teammate_pause_s=(8.0, 16.0))


def estimate_prompt_tokens(messages: list[Any]) -> int:
    """About four characters a token, plus a few per message, as OpenAI estimates on arrival."""
    total = 3
    for message in messages:
        total += 4 + len(_text_of(message)) // 4
    return total


def _text_of(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def reply_words(messages: list[Any]) -> tuple[str, ...]:
    """A short deterministic Markdown answer; each word is one token."""
    said = next((_text_of(m) for m in reversed(messages)
                 if isinstance(m, dict) and m.get("role") == "user"), "")
    return _reply_to(said)


@functools.lru_cache(maxsize=64)  # a benchmark, a burst or a retry says the same again
def _reply_to(said: str) -> tuple[str, ...]:
    said = " ".join(said.split())
    snippet = said if len(said) <= 80 else said[:77] + "..."
    text = (f"**Simulated reply.** You said: *{snippet or '(nothing)'}*\n\n"
            "This answer comes from the ratelimit-tui simulator. It charged this request on "
            "arrival, prompt plus `max_tokens`, the way OpenAI does, so watch the token gauge.")
    return tuple(_WORDS.findall(text))


def _random_hex(digits: int) -> str:
    """An id's random part: not a secret, so the module's generator rather than uuid4's
    system call (and not the seeded one that throws the fault dice)."""
    return f"{random.getrandbits(4 * digits):0{digits}x}"


def _error(status: int, message: str, kind: str, code: str | None,
           headers: dict[str, str] | None = None, metadata: dict | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": kind, "param": None, "code": code}
    if metadata:
        error["metadata"] = metadata
    return JSONResponse({"error": error}, status_code=status, headers=headers)


class ChunkedResponse(StreamingResponse):
    """Sends body chunks as they come; with `cut_after`, drops the connection after that many
    chunks without ending the body, as a failing proxy does."""

    def __init__(self, chunks: AsyncIterator[bytes], headers: dict[str, str], media_type: str,
                 cut_after: int | None = None) -> None:
        super().__init__(chunks, headers=headers, media_type=media_type)
        self.cut_after = cut_after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hung_up = asyncio.create_task(_hang_up(receive))
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            sent = 0
            async for chunk in self.body_iterator:
                if self.cut_after is not None and sent >= self.cut_after:
                    return  # the server closes the connection mid-body
                if hung_up.done():
                    return  # nobody reads on: the rest of the answer is not worth making
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            hung_up.cancel()


async def _hang_up(receive: Any) -> None:
    """Returns when the client has gone (a cancelled chat): uvicorn drops what is sent after
    that without a word, so a stream would otherwise run on to its end for no one."""
    while (await receive())["type"] != "http.disconnect":
        pass


class Simulator:
    """State shared by the requests: the limiter, the fault dice, the teammates."""

    def __init__(self, config: SimConfig) -> None:
        unknown = set(config.faults) - set(FAULT_KINDS)
        if unknown or config.dialect not in DIALECTS:
            raise ValueError(f"unknown fault kinds {sorted(unknown)} or dialect {config.dialect}")
        self.config = config
        limits = config.limits
        if config.dialect == "groq" and not limits.rpd:
            limits = replace(limits, rpd=14_400)  # Groq's headers show a daily limit
        self.limiter = Limiter(limits, config.clock)
        self.rng = random.Random(config.seed)
        self.requests_served = 0
        self.forced: collections.deque[str] = collections.deque()  # faults asked for, in order
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, once it runs
        self._cookie_given: set[str] = set()  # key ids that had OPENAI_COOKIE

    def pick_fault(self) -> str | None:
        if self.forced:
            return self.forced.popleft()
        for kind, rate in self.config.faults.items():
            if rate > 0 and self.rng.random() < rate:
                return kind
        return None

    def log(self, line: str) -> None:
        if self.config.log:
            self.config.log(line)

    async def teammate(self, number: int) -> None:
        """Another client on the same key: a request every few seconds, 60-400 tokens."""
        rng = random.Random(self.config.seed * 1000 + number)
        while True:
            await asyncio.sleep(rng.uniform(*self.config.teammate_pause_s))
            self.teammate_call(rng.randint(60, 400))

    def teammate_call(self, tokens: int) -> None:
        """One teammate's request, charged to every key seen: it uses their quota."""
        for key_id in self.limiter.key_ids():
            self.limiter.charge(key_id, tokens)

    # --- a script's hands (the demo tour): called from another thread ----------------------

    def from_outside(self, action: Callable[[], object], wait_s: float = 1.0) -> None:
        """Run `action` on the server's loop, between two requests (the limiter is not
        shared across threads), and wait for it: what the caller does next sees it done."""
        if self.loop is None:
            return
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        done.wait(wait_s)

    def force_fault(self, kind: str) -> None:
        """The next request fails this way, whatever the dice say."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind}")
        self.forced.append(kind)

    def refill(self) -> None:
        """Every key's buckets full again, as after a quiet while."""
        self.limiter = Limiter(self.limiter.limits, self.config.clock)

    # --- endpoints -------------------------------------------------------------------------

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "ratelimit-tui"}
            for m in MODELS]})

    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        self.requests_served += 1
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not key:
            return _error(401, "You didn't provide an API key. Provide it in an Authorization "
                          "header (Bearer auth).", "invalid_request_error", None)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.",
                          "invalid_request_error", None)
        problem = _validate(body)
        if problem:
            status, message, code = problem
            return _error(status, message, "invalid_request_error", code)
        fault = self.pick_fault()
        response = await self._fault_response(fault, key, request) if fault else None
        if response is not None:
            self.log(f"{response.status_code} fault:{fault}")
            return response
        messages = body["messages"]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        max_tokens = max_tokens or DEFAULT_MAX_TOKENS
        prompt_tokens = estimate_prompt_tokens(messages)
        key_id = Limiter.key_id(key)
        decision = self.limiter.charge(key_id, prompt_tokens + max_tokens)
        headers = self._headers(decision, fault, key_id)
        if not decision.allowed:
            headers["openai-processing-ms"] = _ms_since(started)
            self.log(f"429 rate_limit_exceeded on {decision.exhausted}")
            return self._rate_limited(body["model"], decision, headers)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        headers["openai-processing-ms"] = _ms_since(started)
        answer = reply_words(messages)
        words = answer[:max_tokens]
        finish = "stop" if len(words) == len(answer) else "length"
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                 "total_tokens": prompt_tokens + len(words)}
        completion_id = f"chatcmpl-sim{_random_hex(20)}"
        self.log(f"200 {body['model']} {'stream' if body.get('stream') else 'json'} "
                 f"tokens={prompt_tokens + max_tokens} " + " ".join(
                     f"{v.name}={v.remaining}/{v.limit}" for v in decision.views))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = self._events(completion_id, body["model"], words, finish,
                                  usage if include_usage else None)
            return ChunkedResponse(events, headers, "text/event-stream",
                                   cut_after=len(words) // 2 + 1 if fault == "cut" else None)
        await self._pace(len(words))
        completion = {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": None,
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": "".join(words),
                                     "refusal": None}}],
            "usage": usage,
        }
        payload = json.dumps(completion).encode()
        if fault == "cut":
            return ChunkedResponse(_once(payload[: len(payload) // 2], payload), headers,
                                   "application/json", cut_after=1)
        return Response(payload, headers=headers, media_type="application/json")

    # --- helpers ---------------------------------------------------------------------------

    def _headers(self, decision: Decision, fault: str | None, key_id: str) -> dict[str, str]:
        headers = {"x-request-id": f"req_{_random_hex(32)}"}
        if fault == "garbage":
            headers.update(GARBAGE_HEADERS)
        elif fault != "noheaders":
            headers.update(rate_headers(self.config.dialect, decision, time.time()))
            if self.config.dialect == "openai" and key_id not in self._cookie_given:
                self._cookie_given.add(key_id)
                headers["set-cookie"] = OPENAI_COOKIE
        return headers

    def _rate_limited(self, model: str, decision: Decision, headers: dict[str, str]) -> Response:
        wait = decision.retry_after_s
        name = decision.exhausted or "requests"
        view = decision.view(name)
        unit = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)",
                "requests_day": "requests per day (RPD)"}.get(name, name)
        if math.isinf(wait):
            return _error(429, f"Request too large for {model} on {unit}: Limit {view.limit}. "
                          "Reduce the size of your request.", "tokens", "rate_limit_exceeded",
                          headers)
        headers["retry-after"] = str(max(1, math.ceil(wait)))
        headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
        message = (f"Rate limit reached for {model} in organization org-sim on {unit}: "
                   f"Limit {view.limit}, Remaining {view.remaining}. "
                   f"Please try again in {wait:.3f}s.")
        metadata = mirrored_error_metadata(self.config.dialect, headers)
        return _error(429, message, "requests" if "requests" in name else "tokens",
                      "rate_limit_exceeded", headers, metadata)

    async def _fault_response(self, fault: str | None, key: str,
                              request: Request) -> Response | None:
        if fault == "401":
            return _error(401, "Incorrect API key provided. You can find your API key at "
                          "https://platform.openai.com/account/api-keys.",
                          "invalid_request_error", "invalid_api_key")
        if fault == "500":
            return _error(500, "The server had an error while processing your request. "
                          "Sorry about that!", "server_error", None)
        if fault == "503":
            return HTMLResponse("<html><head><title>503 Service Temporarily Unavailable</title>"
                                "</head><body><center><h1>503 Service Temporarily Unavailable"
                                "</h1></center></body></html>", status_code=503)
        if fault == "quota":
            views = self.limiter.peek(Limiter.key_id(key))
            headers = rate_headers(self.config.dialect, Decision(True, 0.0, None, views),
                                   time.time())
            return _error(429, "You exceeded your current quota, please check your plan and "
                          "billing details.", "insufficient_quota", "insufficient_quota", headers)
        if fault == "hang":  # until the client gives up, or hang_s
            deadline = time.monotonic() + self.config.hang_s
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.1)
            return _error(504, "The simulator hung on purpose (--fault hang).", "server_error",
                          None)
        return None

    async def _pace(self, tokens: int) -> None:
        if self.config.tokens_per_s > 0:
            await asyncio.sleep(tokens / self.config.tokens_per_s)

    async def _events(self, completion_id: str, model: str, words: list[str], finish: str,
                      usage: dict[str, int] | None) -> AsyncIterator[bytes]:
        created = int(time.time())
        extra = {"usage": None} if usage else {}

        def chunk(delta: dict, finish_reason: str | None = None) -> bytes:
            data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                    "model": model, "system_fingerprint": None,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish_reason}], **extra}
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        delay = 1 / self.config.tokens_per_s if self.config.tokens_per_s > 0 else 0
        for word in words:
            if delay:
                await asyncio.sleep(delay)
            yield chunk({"content": word})
        yield chunk({}, finish)
        if usage:
            data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                    "model": model, "system_fingerprint": None, "choices": [], "usage": usage}
            yield f"data: {json.dumps(data)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _ms_since(started: float) -> str:
    return str(round((time.perf_counter() - started) * 1000))


async def _once(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _validate(body: Any) -> tuple[int, str, str | None] | None:
    if not isinstance(body, dict):
        return 400, "The request body must be a JSON object.", None
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return 400, "you must provide a model parameter", None
    if model not in MODELS:
        return 404, (f"The model `{model}` does not exist or you do not have access to it."
                     ), "model_not_found"
    if model in REASONING_MODELS and "max_tokens" in body:
        return 400, ("Unsupported parameter: 'max_tokens' is not supported with this model. "
                     "Use 'max_completion_tokens' instead."), "unsupported_parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "'messages' must be a non-empty array.", None
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            return 400, f"Invalid '{name}': expected an integer of at least 1.", None
    return None


class SimApp(Starlette):
    """The simulator's app. A chat completion, the request that comes by the thousand (a
    burst, a benchmark), goes straight to its handler; everything else, a chat completion's
    other methods and paths among it, through Starlette's router and error handling."""

    def __init__(self, sim: Simulator, **options: Any) -> None:
        super().__init__(**options)
        self.state.sim = sim
        self._chat = sim.chat

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == CHAT_PATH and scope["method"] == "POST":
            response = await self._chat(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(config: SimConfig) -> Starlette:
    sim = Simulator(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sim.loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(sim.teammate(n)) for n in range(config.teammates)]
        yield
        for task in tasks:
            task.cancel()

    return SimApp(sim, routes=[
        Route(CHAT_PATH, sim.chat, methods=["POST"]),
        Route("/v1/models", sim.models, methods=["GET"]),
    ], lifespan=lifespan)
