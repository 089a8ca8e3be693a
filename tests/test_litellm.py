"""A LiteLLM proxy 1.108.7, as captured in front of the simulator (tests/data/litellm): its
relayed 200s carry the upstream's resets only under `llm_provider-`, and its own 429s their
retry-after only that way too. Parsed from the captures, and replayed over real HTTP to the
client and the dashboard."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from replay import ReplayServer, recorded
from scenes import ScriptedTime
from tui_helpers import finished, press_key, ready, send, wait_until

from ratelimit_tui.config import load_settings
from ratelimit_tui.core.client import QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.events import Outcome
from ratelimit_tui.core.head import parse_head
from ratelimit_tui.core.headers import parse_rate_limit_headers, request_id_of
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.messages import CallFinished

T0 = 1_780_000_000.0
MESSAGES = [{"role": "user", "content": "hi"}]


def snapshot_of(name: str):
    capture = recorded(f"litellm/{name}.txt")
    return parse_rate_limit_headers(capture.headers, T0, capture.status), capture


def request_id(capture) -> str | None:
    """As the client reads it: from the head's fields by lower-cased name."""
    return request_id_of({name.lower(): value for name, value in capture.headers})


def test_a_relayed_200_gets_its_resets_from_the_upstream_copies():
    snap, capture = snapshot_of("relayed-200")
    requests, tokens = snap.bucket("requests"), snap.bucket("tokens")
    assert (requests.limit, requests.remaining, requests.reset_in_s) == (6, 5, 10.0)
    assert (tokens.limit, tokens.remaining, tokens.reset_in_s) == (2000, 1992, 0.24)
    assert requests.window_s == pytest.approx(60.0)  # inferred: 10 s for 1 of 6
    assert snap.dialect == "litellm"
    assert request_id(capture) == "req_93a86502557748389a76fade7662ba2d"


def test_litellm_s_own_429_says_its_wait_only_under_the_prefix():
    snap, capture = snapshot_of("own-429")
    assert snap.retry_after_s == 60.0 and snap.throttled and not snap.buckets
    assert snap.dialect == "litellm"  # the same label as its 200s
    assert request_id(capture) == "03706097-0113-4595-a15f-b51816d1acfe"


def test_a_relayed_429_prefers_the_precise_upstream_retry_after_ms():
    snap, _ = snapshot_of("relayed-429")
    assert snap.retry_after_s == pytest.approx(9.897)
    requests = snap.bucket("requests")
    assert (requests.remaining, requests.reset_in_s) == (0, pytest.approx(39.897))


def test_plain_names_win_over_the_upstream_copies():
    snap = parse_rate_limit_headers({
        "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "20s", "retry-after": "5",
        "llm_provider-x-ratelimit-limit-requests": "6",
        "llm_provider-x-ratelimit-remaining-requests": "5",
        "llm_provider-x-ratelimit-reset-requests": "10s",
        "llm_provider-retry-after-ms": "100"}, T0, 429)
    requests = snap.bucket("requests")
    assert (requests.limit, requests.remaining, requests.reset_in_s) == (3, 1, 20.0)
    assert snap.retry_after_s == 5.0  # retry-after is one field, whatever its spelling


def test_a_mock_model_s_own_counter_reads_as_a_request_bucket():
    snap, _ = snapshot_of("mock-200")
    requests = snap.bucket("requests")
    assert (requests.limit, requests.remaining, requests.reset_in_s) == (3, 2, None)


def test_inspect_reads_the_captures():
    from replay import DATA

    head = parse_head((DATA / "litellm/own-429.txt").read_bytes())
    assert head.status == 429 and "RPM limit=3" in head.body


async def test_the_client_never_retries_sooner_than_litellm_asked():
    scripted = ScriptedTime()
    own_429 = recorded("litellm/own-429.txt")
    with ReplayServer(own_429, recorded("litellm/relayed-200.txt")) as server:
        endpoint = Endpoint(server.base_url, Secret("sk-test"), max_retries=3, retry_cap_s=90.0)
        client = QuotaClient(endpoint, "gpt-4o-mini", clock=scripted, sleep=scripted.sleep)
        record = await client.chat(MESSAGES, stream=False)
        await client.aclose()
    assert record.ok and record.attempts == 2 and record.throttled == 1
    assert len(scripted.waits) == 1 and scripted.waits[0] >= 60.0
    assert len(server.requests) == 2  # no retry spent against the limit in between


async def test_a_wait_beyond_the_cap_is_reported_with_litellm_s_reason():
    with ReplayServer(recorded("litellm/own-429.txt")) as server:
        endpoint = Endpoint(server.base_url, Secret("sk-test"), max_retries=3, retry_cap_s=30.0)
        client = QuotaClient(endpoint, "gpt-4o-mini")
        record = await client.chat(MESSAGES, stream=False)
        await client.aclose()
    assert record.outcome == Outcome.RATE_LIMITED and record.attempts == 1
    assert len(server.requests) == 1
    assert "RPM limit=3, current usage=4" in record.error
    assert "longer than the retry cap" in record.error
    assert record.request_id == "03706097-0113-4595-a15f-b51816d1acfe"


async def test_the_dashboard_in_front_of_litellm():
    from test_tui import log_text

    messages = []
    with ReplayServer(recorded("litellm/relayed-200.txt"),
                      recorded("litellm/own-429.txt")) as server:
        settings = load_settings({"base_url": server.base_url, "stream": False},
                                 env={"OPENAI_API_KEY": "sk-test"})
        settings = dataclasses.replace(settings, retry_cap_s=30.0, history=False)
        app = make_app(settings)
        async with app.run_test(size=(120, 36), message_hook=messages.append) as pilot:
            await ready(pilot)
            await pilot.pause()
            assert "● no response yet" in app.status.render().plain  # not "live" before news
            press_key(pilot, "f5")
            await finished(pilot, messages, kind="probe")
            await pilot.pause()
            gauge = app.quota_panel.gauges["requests"].text.plain
            # from llm_provider-x-ratelimit-reset-requests: 10s (the real clock has moved on)
            assert re.search(r"5 / 6  resets in (10|9)s", gauge), gauge
            status = app.status.render().plain
            assert "litellm" in status
            await send(pilot, "are we there yet?")
            (record,) = await finished(pilot, messages)
            await wait_until(pilot, lambda: "RPM limit=3" in log_text(app))
            assert "litellm" in app.status.render().plain  # no flip on its own 429
            assert record.attempts == 1
            await pilot.pause()
            note = app.query_one("#quota-note")  # its gauges show room: say what refused
            assert note.display and "429 from a limit these headers do not show" in str(
                note.render())
            assert not [m for m in messages if isinstance(m, CallFinished)
                        and m.record.attempts > 1]

_COUNTS = st.integers(min_value=1, max_value=10**6).map(str)
_RESETS = st.integers(min_value=1, max_value=3600).map(lambda s: f"{s}s")
_SOURCE = st.fixed_dictionaries({}, optional={"limit": _COUNTS, "remaining": _COUNTS,
                                              "reset": _RESETS})
_WAITS = st.fixed_dictionaries({}, optional={
    "retry-after": st.integers(0, 600).map(str),
    "retry-after-ms": st.integers(0, 600_000).map(str)})


@given(plain=_SOURCE, upstream=_SOURCE, plain_wait=_WAITS, upstream_wait=_WAITS)
def test_each_field_comes_from_plain_else_from_the_upstream_copy(plain, upstream, plain_wait,
                                                                 upstream_wait):
    headers = {f"x-ratelimit-{k}-requests": v for k, v in plain.items()}
    headers |= {f"llm_provider-x-ratelimit-{k}-requests": v for k, v in upstream.items()}
    headers |= plain_wait | {f"llm_provider-{k}": v for k, v in upstream_wait.items()}
    snap = parse_rate_limit_headers(headers, T0, 429)
    merged = upstream | plain
    bucket = snap.bucket("requests")
    if "limit" not in merged and "remaining" not in merged:
        assert bucket is None or not bucket.known
    else:
        assert bucket.limit == (int(merged["limit"]) if "limit" in merged else None)
        assert bucket.remaining == (int(merged["remaining"]) if "remaining" in merged else None)
        assert bucket.reset_in_s == (float(merged["reset"][:-1]) if "reset" in merged else None)
    waits = plain_wait or upstream_wait  # retry-after is one field: plain wins whole
    want = (int(waits["retry-after-ms"]) / 1000 if "retry-after-ms" in waits
            else float(waits["retry-after"]) if "retry-after" in waits else None)
    assert snap.retry_after_s == want
