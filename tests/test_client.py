"""QuotaClient against the embedded simulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from ratelimit_tui.core.client import QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.events import CallRecord, Outcome, ResponseObserved, RetryScheduled
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.sim.limiter import Limits

KEY = "sk-proj-SECRETkey0123456789abcdef"
MESSAGES = [{"role": "user", "content": "hello there"}]


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append((time.perf_counter(), event))

    def of(self, kind):
        return [e for _, e in self.events if isinstance(e, kind)]


MADE: list[QuotaClient] = []  # closed after each test: no connection is left open


@pytest.fixture(autouse=True)
async def close_clients():
    yield
    while MADE:
        await MADE.pop().aclose()


def make_client(sim, recorder=None, scripted=None, **endpoint) -> QuotaClient:
    """With `scripted`, the client stamps and waits on that clock (the simulator's too)."""
    options = {"max_retries": 2, "timeout_s": 10.0, **endpoint}
    timing = {"clock": scripted, "sleep": scripted.sleep} if scripted is not None else {}
    client = QuotaClient(Endpoint(sim.base_url, Secret(KEY), **options), "gpt-4o-mini",
                         on_event=recorder, **timing)
    MADE.append(client)
    return client


async def test_on_sent_is_called_once_when_the_first_request_is_written(run_sim):
    sim = run_sim(latency_ms=50.0)
    recorder, sent = Recorder(), []
    client = QuotaClient(Endpoint(sim.base_url, Secret(KEY)), "gpt-4o-mini", on_event=recorder,
                         on_sent=lambda: sent.append(len(recorder.events)))
    MADE.append(client)
    await client.probe()
    await client.probe()
    assert sent == [0]  # once, before the first answer's head


async def test_non_streaming_call_reads_headers_and_usage(run_sim):
    sim = run_sim()
    recorder = Recorder()
    client = make_client(sim, recorder)
    record = await client.chat(MESSAGES, stream=False, max_tokens=12)
    assert record.ok and record.status == 200 and record.attempts == 1
    assert record.usage.completion_tokens == 12 and record.text
    assert record.request_id.startswith("req_")
    assert client.quota.get("requests").bucket.remaining == 59
    assert [type(e).__name__ for _, e in recorder.events] == ["ResponseObserved", "CallRecord"]


async def test_streaming_delivers_the_snapshot_before_the_stream_ends(run_sim):
    sim = run_sim(tokens_per_s=100.0)
    recorder = Recorder()
    client = make_client(sim, recorder)
    texts = []
    record = await client.chat(MESSAGES, on_text=lambda d: texts.append((time.perf_counter(), d)))
    observed_at = recorder.events[0][0]
    assert isinstance(recorder.events[0][1], ResponseObserved)
    assert observed_at < texts[0][0] < texts[-1][0]
    assert texts[-1][0] - observed_at > 0.1  # headers came well before the last token
    assert "".join(t for _, t in texts) == record.text
    assert record.usage.completion_tokens == len(texts)
    assert record.ttfb_s < record.ttft_s < record.latency_s


async def test_429_reports_the_wait_then_succeeds(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=2, tpm=100_000))
    recorder = Recorder()
    client = make_client(sim, recorder, scripted=clock, retry_cap_s=60.0)
    for _ in range(2):
        assert (await client.chat(MESSAGES, stream=False, max_tokens=5)).ok
    record = await client.chat(MESSAGES, stream=False, max_tokens=5)
    assert record.ok and record.attempts == 2 and record.throttled == 1
    (retry,) = recorder.of(RetryScheduled)
    assert clock.waits == [retry.wait_s]
    assert 30.0 <= retry.wait_s <= 30.0 + 1.0  # retry-after said 30 s; jitter on top
    assert "429" in retry.reason and "requests" in retry.reason
    statuses = [e.snapshot.status for e in recorder.of(ResponseObserved)]
    assert statuses == [200, 200, 429, 200]  # the 429 was observed, not hidden


async def test_429_longer_than_the_cap_is_reported_not_waited(run_sim, clock):
    sim = run_sim(clock=clock, limits=Limits(rpm=1, tpm=100_000))
    client = make_client(sim, retry_cap_s=10.0)
    await client.chat(MESSAGES, stream=False, max_tokens=5)
    started = time.perf_counter()
    record = await client.chat(MESSAGES, stream=False, max_tokens=5)
    assert time.perf_counter() - started < 1
    assert record.outcome == Outcome.RATE_LIMITED and "longer than the retry cap" in record.error


@pytest.mark.parametrize("fault, outcome, attempts, phrase", [
    ("500", Outcome.SERVER, 2, "server error 500"),
    ("503", Outcome.SERVER, 2, "HTML error page"),
    ("quota", Outcome.NO_QUOTA, 1, "check billing"),
    ("401", Outcome.AUTH, 1, "key was rejected"),
])
async def test_faults_are_classified(run_sim, clock, fault, outcome, attempts, phrase):
    sim = run_sim(faults={fault: 1.0})
    recorder = Recorder()
    client = make_client(sim, recorder, scripted=clock, max_retries=1)  # no real backoff
    record = await client.chat(MESSAGES, stream=False, max_tokens=5)
    assert (record.outcome, record.attempts) == (outcome, attempts)
    assert phrase in record.error
    assert len(recorder.of(ResponseObserved)) == attempts


async def test_timeout_is_classified(run_sim):
    sim = run_sim(faults={"hang": 1.0}, hang_s=3.0)
    record = await make_client(sim, timeout_s=0.3, max_retries=0).chat(MESSAGES)
    assert record.outcome == Outcome.TIMEOUT and "no response head within 0.3 s" in record.error


async def test_cut_stream_keeps_the_partial_answer_and_is_not_retried(run_sim):
    sim = run_sim(faults={"cut": 1.0})
    record = await make_client(sim).chat(MESSAGES)
    assert record.outcome == Outcome.CUT and record.attempts == 1
    assert record.text and "partial answer is kept" in record.error


async def test_garbage_headers_leave_the_state_consistent(run_sim):
    sim = run_sim(faults={"garbage": 0.5}, seed=3)
    client = make_client(sim)
    for _ in range(8):
        record = await client.chat(MESSAGES, stream=False, max_tokens=5)
        assert record.ok
    requests = client.quota.get("requests").bucket
    assert requests.limit == 60 and 0 < requests.remaining < 60  # the last readable values


async def test_unknown_model_is_not_found(run_sim):
    client = make_client(run_sim())
    record = await client.chat(MESSAGES, model="gpt-does-not-exist")
    assert record.outcome == Outcome.NOT_FOUND and "gpt-does-not-exist" in record.error


async def test_reasoning_model_gets_max_completion_tokens(run_sim):
    client = make_client(run_sim())
    record = await client.chat(MESSAGES, model="o4-mini", stream=False, max_tokens=3)
    assert record.ok and record.usage.completion_tokens == 3 and record.attempts == 1
    assert client._token_args("gpt-4o-mini", 3) == {"max_tokens": 3}  # only that model


async def test_concurrent_calls_each_get_their_retry_with_max_completion_tokens(run_sim):
    """Each call that named max_tokens gets its one retry, though another learned meanwhile
    that the model wants max_completion_tokens (a /burst on a reasoning model)."""
    client = make_client(run_sim())
    records = await asyncio.gather(*(client.chat(MESSAGES, model="o4-mini", stream=False,
                                                 max_tokens=3) for _ in range(6)))
    assert [r.outcome for r in records] == [Outcome.OK] * 6


async def test_connection_refused(unused_tcp_port, clock):
    endpoint = Endpoint(f"http://127.0.0.1:{unused_tcp_port}/v1", Secret(KEY), max_retries=1)
    recorder = Recorder()
    client = QuotaClient(endpoint, "gpt-4o-mini", on_event=recorder, clock=clock,
                         sleep=clock.sleep)  # the backoff moves the clock, not the test
    record = await client.chat(MESSAGES)
    assert record.outcome == Outcome.CONNECTION and "connection refused" in record.error
    assert record.status is None and len(recorder.of(RetryScheduled)) == 1


async def test_cancel_mid_stream_keeps_partial_text(run_sim):
    sim = run_sim(tokens_per_s=50.0)
    recorder = Recorder()
    client = make_client(sim, recorder)
    texts = []
    task = asyncio.create_task(client.chat(MESSAGES, on_text=texts.append))
    while len(texts) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = recorder.of(CallRecord)
    assert record.outcome == Outcome.CANCELLED
    assert record.text == "".join(texts) and len(texts) < 20



async def test_poller_never_overlaps(run_sim, clock):
    sim = run_sim(latency_ms=30.0)
    client = make_client(sim, scripted=clock)  # its waits pass at once: only overlap counts
    in_flight, most, done = 0, 0, 0
    five = asyncio.Event()
    real_probe = client.probe

    async def counting_probe(model=None, kind="probe"):
        nonlocal in_flight, most, done
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await real_probe(model, kind)
        finally:
            in_flight -= 1
            done += 1
            if done == 5:
                five.set()

    client.probe = counting_probe
    task = asyncio.create_task(client.poll_forever(10.0))
    await asyncio.wait_for(five.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert most == 1 and done >= 5 and clock.waits[:4] == [10.0] * 4


async def test_a_poll_never_lands_inside_a_refusal_s_retry_after(run_sim):
    from scenes import ScriptedTime

    scripted = ScriptedTime(start=1000.0, hold=True)
    sim = run_sim(clock=scripted, limits=Limits(rpm=1, tpm=100_000))
    recorder = Recorder()
    client = make_client(sim, recorder, scripted=scripted, retry_cap_s=5.0)
    task = asyncio.create_task(client.poll_forever(10.0))
    await asyncio.wait_for(scripted.held(), 20)  # the first poll is done; its wait is held
    refused = await client.chat(MESSAGES, stream=False)  # a 429 asking 60 s: over the cap
    assert refused.outcome == Outcome.RATE_LIMITED
    scripted.release()  # the poll's 10 s pass; 50 s of the chat's refusal are left
    await asyncio.wait_for(scripted.held(), 20)  # and are waited, not polled through
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    probes = [e for e in recorder.of(ResponseObserved) if e.kind == "probe"]
    assert len(probes) == 1 and scripted.waits == [10.0, pytest.approx(50.0)]


async def test_the_key_never_appears_in_anything_the_client_produces(run_sim):
    strings = []
    for faults in ({}, {"401": 1.0}, {"500": 1.0}, {"quota": 1.0}):
        sim = run_sim(faults=faults)
        recorder = Recorder()
        client = make_client(sim, recorder, max_retries=0)
        record = await client.chat(MESSAGES)
        strings += [repr(client), repr(client.endpoint), str(client.endpoint.api_key),
                    repr(record), record.error or ""]
        strings += [repr(e) for _, e in recorder.events]
    assert not [s for s in strings if "SECRETkey" in s]


def test_scrub_removes_keys_servers_echo():
    from ratelimit_tui.core.secret import scrub

    said = "Incorrect API key provided: sk-proj-****...cdef. You can find your API key at ..."
    assert "sk-proj" not in scrub(said)
    assert "zz" not in scrub("token zz-top-secret", Secret("zz-top-secret"))


def run_cli(*args, env_key=KEY):
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": env_key, "RATELIMIT_TUI_CONFIG": "/dev/null"}
    return subprocess.run([sys.executable, "-m", "ratelimit_tui", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_probe_command_json(run_sim):
    sim = run_sim()
    result = run_cli("probe", "--base-url", sim.base_url, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"status", "received_at", "retry_after_s", "buckets", "call"}
    assert set(out["call"]) == {"outcome", "error", "status", "latency_ms", "ttfb_ms", "usage",
                                "request_id"}
    assert out["call"]["usage"]["completion_tokens"] == 1
    assert out["buckets"][0]["remaining"] == 59


def test_probe_command_reports_a_429_without_retrying(run_sim, clock, run_main):
    sim = run_sim(clock=clock, limits=Limits(rpm=1, tpm=100_000))
    key = {"OPENAI_API_KEY": KEY}
    assert run_main("probe", "--base-url", sim.base_url, env=key).returncode == 0
    result = run_main("probe", "--base-url", sim.base_url, env=key)
    assert result.returncode == 0, result.stderr
    assert "status 429" in result.stdout and "retry-after: 1m" in result.stdout
    assert sim.simulator.requests_served == 2  # one attempt each


def test_probe_command_failures_are_one_line(run_sim, unused_tcp_port, run_main):
    key = {"OPENAI_API_KEY": KEY}
    refused = run_main("probe", "--base-url", f"http://127.0.0.1:{unused_tcp_port}/v1", env=key)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "connection refused" in refused.stderr
    sim = run_sim(faults={"401": 1.0})
    bad_key = run_main("probe", "--base-url", sim.base_url, env=key)
    assert bad_key.returncode == 1 and "key was rejected" in bad_key.stderr
    assert "Traceback" not in bad_key.stderr and KEY not in bad_key.stderr + bad_key.stdout


async def test_an_sdk_surprise_is_one_scrubbed_line_not_a_crash(run_sim):
    client = make_client(run_sim())

    async def broken(**kwargs):
        raise RuntimeError(f"boom while sending Authorization: Bearer {KEY}")

    client._sdk.chat.completions.with_raw_response.create = broken  # a unit seam: the SDK
    record = await client.chat(MESSAGES, stream=False)
    assert record.outcome == Outcome.ERROR and "unexpected RuntimeError" in record.error
    assert "SECRETkey" not in record.error


async def test_x_should_retry_false_is_obeyed():
    from replay import Recorded, ReplayServer

    body = b'{"error": {"message": "overloaded", "type": "server_error"}}'
    answer = Recorded(503, "Service Unavailable", [("x-should-retry", "false")], body)
    with ReplayServer(answer) as server:
        client = QuotaClient(Endpoint(server.base_url, Secret(KEY), max_retries=3), "m")
        MADE.append(client)
        record = await client.chat(MESSAGES, stream=False)
    assert record.attempts == 1 and "not to retry" in record.error


def test_proxy_copies_of_sensitive_headers_are_redacted_and_odd_keys_scrubbed():
    from ratelimit_tui.core.secret import REDACTED, redact_headers

    pairs = [("llm_provider-set-cookie", "a=b"), ("llm_provider-openai-organization", "org-x"),
             ("x-echo", "azure-key-0123abcd"), ("x-ratelimit-limit-requests", "60")]
    shown = dict(redact_headers(pairs, Secret("azure-key-0123abcd")))
    assert shown["llm_provider-set-cookie"] == shown["llm_provider-openai-organization"] == REDACTED
    assert "0123abcd" not in shown["x-echo"] and shown["x-ratelimit-limit-requests"] == "60"


def test_credentials_in_a_base_url_are_never_shown(unused_tcp_port):
    from ratelimit_tui.config import history_endpoint, load_settings

    url = f"http://user:hunter2@127.0.0.1:{unused_tcp_port}/v1?api-key=SECRETkey"
    settings = load_settings({"base_url": url}, env={"OPENAI_API_KEY": "sk-x"})
    endpoint = Endpoint(url, Secret(KEY))
    assert history_endpoint(settings) == f"http://127.0.0.1:{unused_tcp_port}/v1"
    for text in (endpoint.host, repr(endpoint), repr(settings)):
        assert "hunter2" not in text and "SECRETkey" not in text


@pytest.mark.parametrize("message", [
    ["Invalid key sk-proj-SECRETkey0123456789abcdef"],
    {"detail": "bad key sk-proj-SECRETkey0123456789abcdef"},
    "bad key sk-proj-SECRETkey0123456789abcdef",
])
async def test_the_key_echoed_in_any_shape_of_error_message_is_scrubbed(message):
    from replay import Recorded, ReplayServer

    body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    answer = Recorded(403, "Forbidden", [("content-type", "application/json")], body.encode())
    with ReplayServer(answer) as server:
        client = QuotaClient(Endpoint(server.base_url, Secret(KEY)), "gpt-4o-mini")
        record = await client.chat(MESSAGES, stream=False)
        await client.aclose()
    assert record.outcome == Outcome.AUTH and "SECRETkey" not in record.error


def test_only_the_built_in_simulator_goes_without_the_trust_store():
    """Demo mode's first gauge does not wait for the CA bundle: the simulator's client trusts no
    one (it speaks plain HTTP), with verification still on; every other endpoint's client
    shares the one verifying context."""
    import ssl

    from ratelimit_tui.config import endpoint_of, load_settings
    from ratelimit_tui.core.client import tls_context, tls_for

    demo = endpoint_of(load_settings({"demo": True}, env={}), "http://127.0.0.1:1/v1")
    real = endpoint_of(load_settings({}, env={"OPENAI_API_KEY": KEY}))
    assert demo.embedded and not real.embedded
    trusting_no_one = tls_for(demo)
    assert trusting_no_one.cert_store_stats()["x509_ca"] == 0
    assert trusting_no_one.verify_mode == ssl.CERT_REQUIRED and trusting_no_one.check_hostname
    assert tls_for(real) is tls_context() is tls_for(real)


@pytest.mark.parametrize("value", [b"6ms", "0.6µs".encode(), "0.6µs".encode("iso-8859-1"),
                                   b"one\ntwo", b""],
                         ids=["ascii", "utf-8", "iso-8859-1", "a newline", "empty"])
def test_a_head_is_decoded_as_httpx2_decodes_it(value):
    import httpx2

    from ratelimit_tui.core.client import _decoded

    head = httpx2.Response(200, headers=[(b"X-RateLimit-Reset-Tokens", value),
                                         (b"x-request-id", b"req_1"),
                                         (b"X-Request-ID", b"req_2")]).headers
    assert _decoded(head) == tuple(head.multi_items())
    assert _decoded(httpx2.Response(200).headers) == ()
