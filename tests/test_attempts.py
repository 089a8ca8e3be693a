"""attempts.classify: what to do after a failed attempt, from plain facts (no network)."""

from __future__ import annotations

import dataclasses

import pytest

from ratelimit_tui.core.attempts import Attempt, Failure, Policy, backoff, classify
from ratelimit_tui.core.events import Outcome
from ratelimit_tui.core.headers import parse_rate_limit_headers

T0 = 1_780_000_000.0
POLICY = Policy(host="api.example", model="gpt-4o-mini", timeout_s=30.0, retry_cap_s=60.0)


def status(code: int, headers: dict[str, str], at: float = T0, **facts) -> Attempt:
    return Attempt(Failure.STATUS, facts.pop("number", 1), code,
                   parse_rate_limit_headers(headers, at, code), **facts)


def test_a_429_waits_its_own_retry_after_plus_a_little_jitter():
    attempt = status(429, {"x-ratelimit-limit-requests": "2",
                           "x-ratelimit-remaining-requests": "0",
                           "x-ratelimit-reset-requests": "50s", "retry-after-ms": "1500"})
    calm, unlucky = classify(attempt, POLICY, T0, 0.0), classify(attempt, POLICY, T0, 0.999)
    assert calm.outcome == Outcome.RATE_LIMITED and calm.wait_s == 1.5
    assert 1.5 < unlucky.wait_s <= 1.5 + 0.2
    assert "on requests" in calm.message


def test_a_429_without_retry_after_waits_for_its_spent_bucket_to_reset():
    attempt = status(429, {"x-ratelimit-limit-requests": "2",
                           "x-ratelimit-remaining-requests": "0",
                           "x-ratelimit-reset-requests": "50s"})
    assert classify(attempt, POLICY, T0, 0.0).wait_s == pytest.approx(50.0)


@pytest.mark.parametrize("headers, body", [
    ({"retry-after": "1", "llm_provider-retry-after": "60"}, None),
    ({"retry-after": "10", "retry-after-ms": "9897"}, None),
    ({"retry-after": "1"}, '{"error": {"message": "Please try again in 20s."}}'),
])
def test_the_longest_wait_any_source_asks_for_is_the_floor(headers, body):
    from ratelimit_tui.core.body import with_body_hints

    snapshot = with_body_hints(parse_rate_limit_headers(headers, T0, 429), body)
    attempt = Attempt(Failure.STATUS, 1, 429, snapshot)
    want = {"60": 60.0, "10": 10.0}.get(headers.get("llm_provider-retry-after") or
                                          headers["retry-after"], 20.0)
    assert classify(attempt, POLICY, T0, 0.0).wait_s == pytest.approx(want)


def test_time_already_spent_counts_against_the_retry_after():
    attempt = status(429, {"retry-after": "10"})
    assert classify(attempt, POLICY, T0 + 4, 0.0).wait_s == pytest.approx(6.0)


@pytest.mark.parametrize("headers", [
    {"retry-after": "20"},
    {"llm_provider-retry-after": "20"},  # LiteLLM's own 429s say it only this way
    {"retry-after-ms": "20000"},
])
def test_no_retry_comes_sooner_than_the_response_asked(headers):
    for code in (429, 500, 503, 529):
        decision = classify(status(code, headers), POLICY, T0, 0.5)
        assert decision.wait_s is not None and decision.wait_s >= 20.0, code


def test_a_retry_after_in_the_error_body_counts_too():
    from ratelimit_tui.core.body import with_body_hints

    seen = parse_rate_limit_headers({}, T0, 429)
    hinted = with_body_hints(seen, '{"error": {"message": "Please try again in 12.5s."}}')
    attempt = Attempt(Failure.STATUS, 1, 429, hinted, {"message": "Please try again in 12.5s."})
    assert classify(attempt, POLICY, T0, 0.0).wait_s == pytest.approx(12.5)


def test_a_wait_beyond_the_cap_is_reported_not_retried():
    decision = classify(status(429, {"llm_provider-retry-after": "60"}), POLICY, T0, 0.9)
    assert decision.wait_s == 60.0  # the cap allows 60 s itself, and jitter stays within it
    capped = dataclasses.replace(POLICY, retry_cap_s=30.0)
    decision = classify(status(429, {"llm_provider-retry-after": "60"}), capped, T0, 0.0)
    assert decision.wait_s is None and decision.outcome == Outcome.RATE_LIMITED
    assert "the wait (1m) is longer than the retry cap (30s)" in decision.message


def test_the_429_body_explanation_is_in_the_message():
    attempt = status(429, {}, error={"message": "RPM limit=3, current usage=4"})
    assert "RPM limit=3, current usage=4" in classify(attempt, POLICY, T0, 0.0).message


def test_server_errors_back_off_and_final_ones_do_not_retry():
    assert classify(status(500, {}), POLICY, T0, 0.0).wait_s == backoff(1, 0.0) == 0.375
    assert classify(status(500, {}, number=5), POLICY, T0, 1.0).wait_s == 8.0
    for code, outcome in ((401, Outcome.AUTH), (403, Outcome.AUTH), (404, Outcome.NOT_FOUND),
                          (400, Outcome.BAD_REQUEST)):
        decision = classify(status(code, {}), POLICY, T0, 0.0)
        assert (decision.outcome, decision.wait_s) == (outcome, None)
    refused = classify(status(503, {"x-should-retry": "false"}), POLICY, T0, 0.0)
    assert refused.wait_s is None and "not to retry" in refused.message


def test_out_of_quota_and_too_large_never_wait():
    no_quota = status(429, {"retry-after": "1"}, error={"code": "insufficient_quota"})
    assert classify(no_quota, POLICY, T0, 0.0).outcome == Outcome.NO_QUOTA
    too_large = status(413, {}, error={"message": "Request too large"})
    decision = classify(too_large, POLICY, T0, 0.0)
    assert (decision.outcome, decision.wait_s) == (Outcome.TOO_LARGE, None)


def test_a_cut_stream_with_text_is_final_without_text_retried():
    kept = classify(Attempt(Failure.CUT, 1, 200, partial=True), POLICY, T0, 0.0)
    assert kept.wait_s is None and "partial answer is kept" in kept.message
    assert classify(Attempt(Failure.CUT, 1, 200), POLICY, T0, 0.0).wait_s is not None
    stalled = classify(Attempt(Failure.STALLED, 1, 200), POLICY, T0, 0.0)
    assert "the server stopped sending for 30 s" in stalled.message


def test_the_renamed_parameter_asks_for_one_free_retry_once():
    said = {"message": "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens'."}
    assert classify(status(400, {}, error=said), POLICY, T0, 0.0).again
    switched = Policy("api.example", "o4-mini", 30.0, 60.0, completion_tokens=True)
    assert not classify(status(400, {}, error=said), switched, T0, 0.0).again


def test_an_html_error_page_is_named():
    decision = classify(status(503, {}, html=True), POLICY, T0, 0.0)
    assert "HTML error page" in decision.message
