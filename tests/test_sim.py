"""The simulator, spoken to by the real openai SDK over loopback."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time

import httpx2
import openai
import pytest

from ratelimit_tui.core.body import with_body_hints
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.sim.dialects import go_duration
from ratelimit_tui.sim.limiter import Limiter, Limits
from ratelimit_tui.sim.names import DIALECTS
from ratelimit_tui.sim.server import estimate_prompt_tokens

MESSAGES = [{"role": "user", "content": "How many requests do I have left?"}]


MADE: list = []  # every SDK client a test made, closed after it: no connection left open


@pytest.fixture(autouse=True)
async def close_clients():
    yield
    while MADE:
        made = MADE.pop()
        closed = made.close()
        if closed is not None:  # the async client's close is a coroutine
            await closed


def client(sim, key="sk-test-one", **options) -> openai.OpenAI:
    MADE.append(openai.OpenAI(base_url=sim.base_url, api_key=key, max_retries=0, **options))
    return MADE[-1]


def aclient(sim, key="sk-test-one", **options) -> openai.AsyncOpenAI:
    MADE.append(openai.AsyncOpenAI(base_url=sim.base_url, api_key=key, max_retries=0,
                                   **options))
    return MADE[-1]


def create(c, **kw):
    return c.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, max_tokens=kw.pop("max_tokens", 10), **kw)


def test_raw_response_headers_and_usage_match_the_charge(run_sim, clock):
    sim = run_sim(clock=clock)
    raw = create(client(sim), max_tokens=10)
    completion = raw.parse()
    prompt = estimate_prompt_tokens(MESSAGES)
    assert completion.usage.prompt_tokens == prompt
    assert completion.usage.completion_tokens == 10  # the canned answer is longer than 10
    assert completion.choices[0].finish_reason == "length"
    assert raw.headers["x-ratelimit-remaining-requests"] == "59"
    assert raw.headers["x-ratelimit-remaining-tokens"] == str(10_000 - prompt - 10)
    assert raw.headers["x-ratelimit-reset-requests"] == "1s"  # one request of 60/min
    assert raw.headers["x-request-id"].startswith("req_")
    assert int(raw.headers["openai-processing-ms"]) >= 0


def test_openai_cookie_comes_with_each_keys_first_response_only(run_sim):
    sim = run_sim()
    first, second = create(client(sim)), create(client(sim))
    other = create(client(sim, key="sk-test-two"))
    assert "domain=.api.openai.com" in first.headers["set-cookie"]
    assert "set-cookie" not in second.headers
    assert "set-cookie" in other.headers
    assert second.headers["openai-organization"] == "org-sim-demo"  # the rest on every one


async def test_streaming_headers_arrive_before_the_body(run_sim):
    sim = run_sim(tokens_per_s=50.0)
    c = aclient(sim)
    started = time.perf_counter()
    async with c.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}) as response:
        headers_after = time.perf_counter() - started
        assert response.headers["x-ratelimit-remaining-requests"] == "59"
        text, usage = [], None
        async for chunk in await response.parse():
            text += [c.delta.content or "" for c in chunk.choices]
            usage = chunk.usage or usage
    total = time.perf_counter() - started
    assert usage.completion_tokens == len("".join(text).split()) > 20
    assert headers_after < total / 4  # the headers came long before the last token
    assert usage.prompt_tokens == estimate_prompt_tokens(MESSAGES)


def test_remaining_counts_down_and_refills(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=6, tpm=100_000))
    c = client(sim)
    seen = [int(create(c).headers["x-ratelimit-remaining-requests"]) for _ in range(3)]
    assert seen == [5, 4, 3]
    clock.advance(10)  # 6 per minute: one back every 10 s
    assert create(c).headers["x-ratelimit-remaining-requests"] == "3"
    clock.advance(60)
    assert create(c).headers["x-ratelimit-remaining-requests"] == "5"


def test_exhausted_bucket_gives_rate_limit_error(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=2, tpm=100_000))
    c = client(sim)
    create(c)
    create(c)
    with pytest.raises(openai.RateLimitError) as info:
        create(c)
    error = info.value
    assert error.code == "rate_limit_exceeded"
    headers = error.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert int(headers["retry-after-ms"]) == 30_000  # one request refills in 60/2 s
    assert headers["retry-after"] == "30"
    assert int(headers["openai-processing-ms"]) >= 0
    clock.advance(30)
    assert create(c).status_code == 200  # the 429 charged nothing


def test_tokens_bucket_refuses_large_requests_first(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=100, tpm=1_000))
    c = client(sim)
    create(c, max_tokens=900)
    with pytest.raises(openai.RateLimitError) as info:
        create(c, max_tokens=900)
    assert "tokens per min" in info.value.message
    with pytest.raises(openai.RateLimitError) as too_big:
        create(c, max_tokens=5_000)  # never fits: no retry-after to wait for
    assert "Request too large" in too_big.value.message
    assert "retry-after" not in too_big.value.response.headers


def test_keys_never_share_buckets(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=1, tpm=100_000))
    create(client(sim, "sk-alice"))
    with pytest.raises(openai.RateLimitError):
        create(client(sim, "sk-alice"))
    assert create(client(sim, "sk-bob")).headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_dialect_reads_back_as_the_limiter_holds(run_sim, clock, dialect):
    sim = run_sim(clock=clock, dialect=dialect, limits=Limits(rpm=3, tpm=50_000))
    c = client(sim)
    key = Limiter.key_id("sk-test-one")
    for _ in range(3):
        raw = create(c)
    limiter = sim.simulator.limiter
    held = {v.name: v for v in limiter.peek(key)}
    snap = parse_rate_limit_headers(raw.headers, time.time(), raw.status_code)
    if dialect == "openrouter":  # headers only on errors
        assert snap.buckets == ()
        with pytest.raises(openai.RateLimitError) as info:
            create(c)
        response = info.value.response
        snap = parse_rate_limit_headers(response.headers, time.time(), 429)
        assert snap.dialect == "openrouter"
        requests = snap.bucket("requests")
        assert (requests.limit, requests.remaining) == (3, 0)
        assert requests.reset_in_s == pytest.approx(held["requests"].reset_s, abs=1.5)
        body = with_body_hints(parse_rate_limit_headers({}, time.time(), 429), response.text)
        assert body.bucket("requests").limit == 3  # mirrored in error.metadata.headers
        return
    assert snap.dialect == dialect
    requests_view = held["requests_day"] if dialect == "groq" else held["requests"]
    requests, tokens = snap.bucket("requests"), snap.bucket("tokens")
    assert (requests.limit, requests.remaining) == (requests_view.limit, requests_view.remaining)
    assert (tokens.limit, tokens.remaining) == (held["tokens"].limit, held["tokens"].remaining)
    tolerance = 1.0 if dialect == "azure" else 1e-3  # Azure rounds resets up to seconds
    assert requests.reset_in_s == pytest.approx(requests_view.reset_s, abs=tolerance)
    if dialect == "groq":
        assert requests.window_s == 86_400
    elif dialect == "azure":
        assert requests.window_s == 60
    else:
        assert requests.window_s == pytest.approx(60, rel=1e-3)  # inferred from the reset


def test_openai_dialect_reports_a_daily_bucket_when_it_binds(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=100, tpm=100_000, rpd=10))
    raw = create(client(sim))
    snap = parse_rate_limit_headers(raw.headers, time.time())
    assert snap.bucket("requests").limit == 10
    assert snap.bucket("requests").window_s == pytest.approx(86_400, rel=1e-3)


def test_teammates_drain_the_shared_quota(run_sim):
    sim = run_sim(teammates=3, teammate_pause_s=(0.01, 0.02), limits=Limits(1000, 1_000_000))
    c = client(sim)
    first = int(create(c).headers["x-ratelimit-remaining-requests"])
    time.sleep(0.3)
    second = int(create(c).headers["x-ratelimit-remaining-requests"])
    assert second < first - 5  # others on the key used some while we waited


def test_models_and_unknown_model(run_sim):
    sim = run_sim()
    c = client(sim)
    assert "gpt-4o-mini" in [m.id for m in c.models.list().data]
    with pytest.raises(openai.NotFoundError) as info:
        c.chat.completions.create(model="gpt-nonexistent", messages=MESSAGES)
    assert info.value.code == "model_not_found"


def test_missing_key_is_401(run_sim):
    sim = run_sim()
    response = httpx2.post(f"{sim.base_url}/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": MESSAGES})
    assert response.status_code == 401


# --- faults ------------------------------------------------------------------------------

def test_fault_500(run_sim):
    with pytest.raises(openai.InternalServerError) as info:
        create(client(run_sim(faults={"500": 1.0})))
    assert info.value.status_code == 500


def test_fault_503_html(run_sim):
    with pytest.raises(openai.InternalServerError) as info:
        create(client(run_sim(faults={"503": 1.0})))
    assert info.value.status_code == 503
    assert info.value.response.headers["content-type"].startswith("text/html")


def test_fault_401(run_sim):
    with pytest.raises(openai.AuthenticationError) as info:
        create(client(run_sim(faults={"401": 1.0}), key="sk-secret-value-123"))
    assert "sk-secret-value-123" not in str(info.value)  # the key is never echoed


def test_fault_insufficient_quota(run_sim):
    with pytest.raises(openai.RateLimitError) as info:
        create(client(run_sim(faults={"quota": 1.0})))
    assert info.value.code == "insufficient_quota"
    assert "retry-after" not in info.value.response.headers


def test_fault_hang_outlasts_the_client_timeout(run_sim):
    sim = run_sim(faults={"hang": 1.0}, hang_s=5.0)
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        create(client(sim, timeout=0.3))
    assert time.perf_counter() - started < 2


async def test_fault_cut_stream(run_sim):
    sim = run_sim(faults={"cut": 1.0})
    c = aclient(sim)
    received = []
    with pytest.raises((httpx2.RemoteProtocolError, openai.APIError)):
        async with c.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True) as response:
            async for chunk in await response.parse():
                received += [c.delta.content for c in chunk.choices if c.delta.content]
    assert 0 < len(received) < 30  # part of the answer, then the connection dropped


def test_fault_cut_json_body(run_sim):
    with pytest.raises((httpx2.RemoteProtocolError, openai.APIConnectionError)):
        create(client(run_sim(faults={"cut": 1.0}))).parse()


@pytest.mark.parametrize("kind", ["garbage", "noheaders"])
def test_fault_bad_rate_headers(run_sim, kind):
    raw = create(client(run_sim(faults={kind: 1.0})))
    assert raw.status_code == 200
    snap = parse_rate_limit_headers(raw.headers, time.time())
    assert all(b.limit is None and b.remaining is None for b in snap.buckets)
    assert bool(snap.buckets) == (kind == "garbage")


def test_fault_rates_are_probabilities(run_sim):
    sim = run_sim(faults={"500": 0.5}, seed=7)
    c = client(sim)
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(create(c).status_code)
        except openai.InternalServerError:
            outcomes.append(500)
    assert 8 < outcomes.count(500) < 32


def test_go_duration_format_reads_back():
    for seconds in (0.0, 0.000172, 0.0123, 0.1728, 1.0, 8.64, 61.5, 360.0, 86794.0):
        text = go_duration(seconds)
        back = parse_rate_limit_headers(
            {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "5",
             "x-ratelimit-reset-requests": text}, 0.0).bucket("requests").reset_in_s
        assert math.isclose(back, seconds, rel_tol=1e-3, abs_tol=1e-6), text


def test_sim_command_first_line_and_clean_exit():
    proc = subprocess.Popen([sys.executable, "-m", "ratelimit_tui", "sim", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("Serving OpenAI-compatible API on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[1]
        assert base_url.endswith("/v1") and not base_url.endswith(":0/v1")
        c = openai.OpenAI(base_url=base_url, api_key="sk-never-logged-42", max_retries=0)
        assert c.chat.completions.create(model="sim-echo", messages=MESSAGES).choices
    finally:
        proc.send_signal(2)  # Ctrl-C
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "sk-never-logged-42" not in out + err
    assert "Traceback" not in err


def test_non_loopback_host_warns():
    proc = subprocess.Popen([sys.executable, "-m", "ratelimit_tui", "sim", "--port", "0",
                             "--host", "0.0.0.0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("Serving")
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=10)
    assert "warning" in err and "not loopback" in err


async def test_concurrent_clients_share_the_limiter_consistently(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=20, tpm=1_000_000))
    c = aclient(sim)

    async def one():
        try:
            raw = await c.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES, max_tokens=5)
            return raw.status_code
        except openai.RateLimitError:
            return 429

    statuses = await asyncio.gather(*(one() for _ in range(30)))
    assert statuses.count(200) == 20 and statuses.count(429) == 10


def test_error_bodies_are_openai_shaped(run_sim):
    sim = run_sim(faults={"500": 1.0})
    response = httpx2.post(f"{sim.base_url}/chat/completions",
                           headers={"authorization": "Bearer k"},
                           json={"model": "gpt-4o-mini", "messages": MESSAGES})
    assert set(json.loads(response.text)["error"]) >= {"message", "type", "code"}


async def test_a_stream_stops_when_its_client_has_gone():
    """uvicorn drops what is sent after the client hung up without a word; the response must
    notice by itself, or a cancelled chat's answer would stream on to no one to its end."""
    from ratelimit_tui.sim.server import ChunkedResponse

    async def long_answer():
        for _ in range(10_000):
            yield b"data: {}\n\n"

    async def gone():
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):  # as a socket's writer does, it lets the event loop turn
        sent.append(message)
        written = asyncio.get_running_loop().create_future()
        written.get_loop().call_soon(written.set_result, None)
        await written

    response = ChunkedResponse(long_answer(), {}, "text/event-stream")
    await response({"type": "http"}, gone, send)
    assert sent[0]["type"] == "http.response.start" and len(sent) < 10
