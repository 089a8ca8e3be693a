"""QuotaState: merging, staleness, projection, the binding limit and whether a request fits."""

import json
from pathlib import Path

import pytest

from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.quota import BucketState, QuotaState
from ratelimit_tui.core.values import parse_instant

T0 = 1_780_000_000.0


def openai_headers(rem_req, rem_tok, reset_req="1s", reset_tok="6s", lim_req=60, lim_tok=1000):
    return {
        "x-ratelimit-limit-requests": str(lim_req), "x-ratelimit-remaining-requests": str(rem_req),
        "x-ratelimit-reset-requests": reset_req, "x-ratelimit-limit-tokens": str(lim_tok),
        "x-ratelimit-remaining-tokens": str(rem_tok), "x-ratelimit-reset-tokens": reset_tok,
    }


def state_of(*snapshots):
    state = QuotaState()
    for snap in snapshots:
        state = state.merged(snap)
    return state


def test_continuous_refill_projection_caps_at_limit():
    state = state_of(parse_rate_limit_headers(openai_headers(59, 900, "1s", "6s"), T0))
    tokens = state.get("tokens")
    assert tokens.projected_remaining(T0) == 900
    assert tokens.projected_remaining(T0 + 3) == pytest.approx(950)  # half way to full
    assert tokens.projected_remaining(T0 + 60) == 1000
    assert tokens.reset_in(T0 + 2) == pytest.approx(4)
    assert tokens.bucket.window_s == pytest.approx(60)  # 6 s x 1000 / 100 used


def test_fixed_window_stays_until_reset():
    headers = {"x-ratelimit-limit-requests-minute": "30",
               "x-ratelimit-remaining-requests-minute": "10",
               "x-ratelimit-reset-requests-minute": "20.5"}
    state = state_of(parse_rate_limit_headers(headers, T0))
    bucket = state.get("requests_minute")
    assert bucket.projected_remaining(T0 + 20) == 10
    assert bucket.projected_remaining(T0 + 21) == 30


def test_missing_bucket_keeps_last_value_marked_stale():
    first = parse_rate_limit_headers(openai_headers(59, 900), T0)
    only_requests = {k: v for k, v in openai_headers(58, 0).items() if "tokens" not in k}
    state = state_of(first, parse_rate_limit_headers(only_requests, T0 + 5))
    tokens = state.get("tokens")
    assert tokens.stale and tokens.bucket.remaining == 900 and tokens.age(T0 + 10) == 10
    assert not state.get("requests").stale and state.get("requests").bucket.remaining == 58


def test_unknown_values_never_overwrite_known_ones():
    first = parse_rate_limit_headers(openai_headers(59, 900), T0)
    sentinel = parse_rate_limit_headers({"x-ratelimit-limit-tokens": "-1",
                                         "x-ratelimit-remaining-tokens": "-1"}, T0 + 1)
    state = state_of(first, sentinel)
    assert state.get("tokens").bucket.remaining == 900 and state.get("tokens").stale


def test_a_clock_that_steps_back_does_not_freeze_the_gauges():
    before = parse_rate_limit_headers(openai_headers(50, 500), T0)
    after_ntp_step = parse_rate_limit_headers(openai_headers(40, 400), T0 - 3600)
    state = state_of(before, after_ntp_step)
    assert state.get("requests").bucket.remaining == 40
    refill = parse_rate_limit_headers(openai_headers(45, 450), T0 - 3590)
    state = state.merged(refill)
    assert state.get("requests").bucket.remaining == 45


def test_window_inference_survives_a_full_bucket():
    used = parse_rate_limit_headers(openai_headers(9999, 1000, "8.64s", "0s", lim_req=10000), T0)
    full = parse_rate_limit_headers(openai_headers(10000, 1000, "0s", "0s", lim_req=10000), T0 + 9)
    state = state_of(used, full)
    assert state.get("requests").bucket.window_s == pytest.approx(86400)


def test_binding_limit_and_fit():
    state = state_of(parse_rate_limit_headers(openai_headers(50, 100, "10s", "54s"), T0))
    assert state.binding(T0).bucket.id == "tokens"  # 10 % left beats 83 %
    assert state.fits(50, T0).ok
    later = state.fits(400, T0)  # 300 more tokens at 900 per 54 s = 18 s
    assert not later.ok and later.blocking == "tokens"
    assert later.wait_s == pytest.approx(18)
    never = state.fits(5000, T0)  # bigger than the whole bucket
    assert not never.ok and never.wait_s is None


def test_retry_after_holds_every_request_back():
    headers = {**openai_headers(0, 100, "1s", "1s"), "retry-after": "2"}
    state = state_of(parse_rate_limit_headers(headers, T0, status=429))
    fit = state.fits(1, T0 + 0.5)
    assert not fit.ok and fit.wait_s == pytest.approx(1.5) and fit.blocking == "retry-after"


def test_anthropic_429_without_retry_after_waits_for_the_exhausted_reset():
    samples = json.loads((Path(__file__).parent / "data" / "header_samples.json").read_text())
    sample = next(s for s in samples if s["id"] == "anthropic-06")
    received = parse_instant(sample["headers"]["date"])
    state = state_of(parse_rate_limit_headers(sample["headers"], received, sample["status"]))
    assert state.binding(received).bucket.id == sample["expected"]["binding_limit"]
    assert state.retry_wait(received) == sample["expected"]["derived_wait_seconds"]


def test_unknown_buckets_show_but_never_bind():
    state = state_of(parse_rate_limit_headers({"x-ratelimit-limit-tokens": "-1",
                                               "x-ratelimit-remaining-tokens": "-1"}, T0))
    assert state.get("tokens") is not None and state.binding(T0) is None
    assert state.fits(10**9, T0).ok


def test_concurrent_responses_keep_the_lowest_value():
    # Three concurrent calls: the server answered 57, 55, 56; they arrived 56, 55, 57.
    state = state_of(*(parse_rate_limit_headers(openai_headers(rem, 500, "5s", "5s"), T0 + i * 0.01)
                       for i, rem in enumerate((56, 55, 57))))
    assert state.get("requests").bucket.remaining == 55
    later = parse_rate_limit_headers(openai_headers(58, 500, "2s", "5s"), T0 + 3)
    state = state.merged(later)  # seconds later, a refill is real news
    assert state.get("requests").bucket.remaining == 58


def test_history_keeps_the_lowest_value_per_slot_and_stays_bounded():
    from ratelimit_tui.core.history import QuotaHistory, downsample

    history = QuotaHistory()
    for i in range(20_000):  # 20 000 s of one call a second
        history.add(T0 + i, "requests", 0.9 if i % 10 else 0.1)
    now = T0 + 20_000
    five_min = history.series(300.0, now)["requests"]
    assert len(five_min) <= 302 and min(f for _, f in five_min) == 0.1
    day = history.series(86400.0, now)["requests"]
    assert len(day) <= 290 and all(f == 0.1 for _, f in day)  # a 5-min slot keeps its worst
    thin = downsample(five_min, now - 300, now, 50)
    assert len(thin) <= 50 and min(f for _, f in thin) == 0.1


def test_a_shown_count_is_projected_down_and_says_so():
    state = BucketState(parse_rate_limit_headers({
        "x-ratelimit-limit-requests": "30", "x-ratelimit-remaining-requests": "10",
        "x-ratelimit-reset-requests": "40s"}, T0).bucket("requests"), T0)
    assert state.shown_remaining(T0) == (10, False)
    assert state.shown_remaining(T0 + 19.9) == (19, True)  # 9.95 back: never rounded up
    assert state.shown_remaining(T0 + 60) == (30, True)


def test_a_fixed_window_is_not_projected_before_its_reset():
    state = BucketState(parse_rate_limit_headers({  # Together: delta seconds, a fixed window
        "x-ratelimit-limit": "60", "x-ratelimit-remaining": "10", "x-ratelimit-reset": "20"},
        T0).bucket("requests"), T0)
    assert state.shown_remaining(T0 + 19) == (10, False)
    assert state.shown_remaining(T0 + 21) == (60, True)  # the window turned: full, projected
