"""The value grammar: durations, instants, counts; and the parser's never-raise guarantee."""

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from ratelimit_tui.core.format import compact_duration
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.values import (
    MAX_COUNT,
    MAX_DELAY_S,
    Reset,
    parse_count,
    parse_go_duration,
    parse_reset,
    parse_retry_after,
)

T0 = 1_780_000_000.0


def test_go_durations():
    assert parse_go_duration("6m0s") == 360.0
    assert parse_go_duration("41ms") == 0.041  # ms is milliseconds, not minutes
    assert math.isclose(parse_go_duration("172.799999ms"), 0.172799999)
    assert parse_go_duration("24h6m34s") == 86794.0
    assert parse_go_duration("1m26.4s") == 86.4
    assert parse_go_duration("300µs") == 0.0003
    assert parse_go_duration("0s") == 0.0
    for bad in ("", "6", "6 m", "m", "1.5.5s", "-1s", "6mm", "X-RATELIMIT-RESET-XXX"):
        assert parse_go_duration(bad) is None, bad


def test_reset_forms_by_magnitude():
    assert parse_reset("6m0s", T0) == (T0 + 360, 360.0, Reset.DURATION)
    assert parse_reset("3", T0) == (T0 + 3, 3.0, Reset.DELTA)
    assert parse_reset("33011.382867097855", T0).in_s == 33011.382867097855
    epoch = parse_reset(str(int(T0) + 5), T0)
    assert epoch.kind == Reset.EPOCH and epoch.in_s == 5
    assert parse_reset(str(int(T0 * 1000) + 2500), T0).in_s == 2.5  # epoch milliseconds
    assert parse_reset("2026-05-28T20:26:45Z", T0).kind == Reset.EPOCH
    assert parse_reset("Thu, 28 May 2026 20:26:45 GMT", T0).kind == Reset.EPOCH
    assert parse_reset(str(int(T0) - 100), T0).in_s == 0.0  # in the past: now, never negative
    for bad in ("-1", "", "soon", "nan", "inf", "1e400", "9" * 30):
        assert parse_reset(bad, T0) is None, bad


def test_counts_unknown_is_not_zero():
    assert parse_count("9999") == 9999
    assert parse_count(" 10000000000 ") == 10_000_000_000
    for bad in ("-1", "", "ANTHROPIC-RATELIMIT-TOKENS-LIMIT-XXX", "False", "nan", None):
        assert parse_count(bad) is None


def test_retry_after_forms():
    assert parse_retry_after("2", T0) == 2.0
    assert parse_retry_after("0.5", T0) == 0.5
    assert parse_retry_after("Thu, 28 May 2026 20:26:45 GMT", 1_780_000_000.0) == 5.0
    assert parse_retry_after("-3", T0) is None


def test_retry_after_ms_wins():
    snap = parse_rate_limit_headers({"Retry-After": "2", "retry-after-ms": "250"}, T0)
    assert snap.retry_after_s == 0.25


def test_zero_trio_and_sentinels_are_unknown():
    snap = parse_rate_limit_headers(
        {"x-ratelimit-limit": "0", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}, T0)
    bucket = snap.bucket("requests")
    assert (bucket.limit, bucket.remaining, bucket.reset_in_s) == (None, None, None)
    assert bucket.fraction is None  # n/a, not an empty gauge


def test_unknown_families_are_ignored():
    snap = parse_rate_limit_headers({"x-foo-limit": "5", "x-ratelimit-used": "3",
                                     "content-type": "application/json"}, T0)
    assert snap.buckets == () and snap.dialect is None


def test_repeated_ietf_fields_are_joined():
    pairs = [("RateLimit-Policy", '"a";q=10;w=1'), ("RateLimit-Policy", '"b";q=100;w=60'),
             ("RateLimit", '"a";r=3;t=1'), ("RateLimit", '"b";r=40;t=20')]
    snap = parse_rate_limit_headers(pairs, T0)
    assert [(b.scope, b.limit, b.remaining, b.window_s) for b in snap.buckets] == [
        ("a", 10, 3, 1.0), ("b", 100, 40, 60.0)]


def test_older_ietf_forms():
    old = parse_rate_limit_headers({"RateLimit-Limit": "100", "RateLimit-Remaining": "50",
                                    "RateLimit-Reset": "50", "RateLimit-Policy": "100;w=10"}, T0)
    assert [(b.limit, b.remaining, b.reset_in_s, b.window_s) for b in old.buckets] == [
        (100, 50, 50.0, 10.0)]
    draft7 = parse_rate_limit_headers({"RateLimit": "limit=100, remaining=50, reset=5"}, T0)
    assert [(b.limit, b.remaining, b.reset_in_s) for b in draft7.buckets] == [(100, 50, 5.0)]


def test_litellm_upstream_copies_fill_in():
    snap = parse_rate_limit_headers({
        "x-ratelimit-limit-requests": "4000", "x-ratelimit-remaining-requests": "3999",
        "llm_provider-anthropic-ratelimit-requests-limit": "4000",
        "llm_provider-anthropic-ratelimit-output-tokens-limit": "80000",
        "llm_provider-anthropic-ratelimit-output-tokens-remaining": "79000",
    }, T0)
    assert snap.dialect == "litellm"
    assert snap.bucket("requests").remaining == 3999
    assert snap.bucket("output_tokens").limit == 80000


def test_mistral_2024_family():
    snap = parse_rate_limit_headers({
        "ratelimitbysize-limit": "500000", "ratelimitbysize-remaining": "499000",
        "ratelimitbysize-reset": "39", "ratelimitbysize-query-cost": "1000",
        "x-ratelimitbysize-limit-month": "1000000000",
        "x-ratelimitbysize-remaining-month": "999000000"}, T0)
    assert snap.dialect == "mistral"
    minute = snap.bucket("tokens_minute")  # the un-suffixed family is the per-minute bucket
    assert (minute.limit, minute.remaining, minute.reset_in_s) == (500_000, 499_000, 39.0)
    assert minute.window_s == 60.0 and snap.bucket("tokens") is None
    assert snap.bucket("tokens_month").limit == 1_000_000_000
    assert snap.extras["query_cost_tokens"] == 1000


def test_mistral_2024_both_spellings_are_one_bucket():
    snap = parse_rate_limit_headers({
        "x-ratelimitbysize-limit-minute": "500000", "x-ratelimitbysize-remaining-minute": "499000",
        "ratelimitbysize-reset": "39"}, T0)
    assert [b.id for b in snap.buckets] == ["tokens_minute"]
    assert snap.bucket("tokens_minute").reset_in_s == 39.0


header_names = st.one_of(
    st.sampled_from([
        "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        "x-ratelimit-limit", "x-ratelimit-reset", "retry-after", "retry-after-ms", "RateLimit",
        "RateLimit-Policy", "anthropic-ratelimit-tokens-reset", "x-ratelimit-renewalperiod-tokens",
        "x-ratelimit-limit-req-10-second", "llm_provider-x-ratelimit-reset-requests",
        "x-should-retry", "ratelimit-reset", "x-ratelimit-timeremaining"]),
    st.text(max_size=40),
)
header_values = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"-?[0-9.]{0,20}(ms|s|m|h|µs)?[0-9.]{0,5}(s)?", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["9" * 5000, "1" + "0" * 310 + "s", "1e308", "99999999999999h",
                     "9" * 30, "4102444800", "4102444800000", "2126-01-01T00:00:00Z",
                     "Fri, 01 Jan 2126 00:00:00 GMT"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.just('"a";q=5;w=;r="x",;;"'),
)


@given(st.lists(st.tuples(header_names, header_values), max_size=12),
       st.floats(min_value=0, max_value=4e9), st.one_of(st.none(), st.integers(100, 599)))
def test_parser_never_raises(pairs, received_at, status):
    snap = parse_rate_limit_headers(pairs, received_at, status)
    json.dumps(snap.to_json(), allow_nan=False)  # valid JSON: no Infinity, no NaN
    for bucket in snap.buckets:  # nothing no server can mean: within range, or unknown
        assert bucket.reset_in_s is None or 0 <= bucket.reset_in_s <= MAX_DELAY_S
        assert bucket.remaining is None or 0 <= bucket.remaining <= MAX_COUNT
        assert bucket.limit is None or 0 < bucket.limit <= MAX_COUNT
        assert bucket.fraction is None or 0.0 <= bucket.fraction <= 1.0
    assert snap.retry_after_s is None or 0 <= snap.retry_after_s <= MAX_DELAY_S


def test_values_no_server_can_mean_are_unknown():
    at = 1_780_000_000.0
    snap = parse_rate_limit_headers({
        "x-ratelimit-limit-tokens": "1e308", "x-ratelimit-remaining-tokens": "9" * 30,
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "4102444800",  # an epoch a century away
        "retry-after-ms": "1e308", "retry-after": "7"}, at, 429)
    assert snap.bucket("tokens") is None or not snap.bucket("tokens").known
    assert snap.bucket("requests").reset_in_s is None
    assert snap.retry_after_s == 7.0  # the sane spelling, when the precise one is nonsense
    assert compact_duration(3.1e9) == "over a year"


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["h", "m", "s", "ms", "us"])),
                min_size=1, max_size=4))
def test_go_duration_round_trip(runs):
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}
    text = "".join(f"{n}{u}" for n, u in runs)
    expected = sum(n * scale[u] for n, u in runs)
    if expected > MAX_DELAY_S:  # longer than any real delay: unknown
        assert parse_go_duration(text) is None
    else:
        assert math.isclose(parse_go_duration(text), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_a_value_sent_but_unreadable_is_named_and_sentinels_are_not():
    at = 1_780_000_000.0
    snap = parse_rate_limit_headers({
        "x-ratelimit-limit-tokens": "1e308", "x-ratelimit-remaining-tokens": "5",
        "x-ratelimit-limit-requests": "-1", "x-ratelimit-remaining-requests": "-1"}, at)
    assert snap.extras["unreadable"] == ["tokens"]  # Azure's -1 is a sentinel: unknown, fine
    trio = parse_rate_limit_headers({"x-ratelimit-limit-requests": "0",
                                     "x-ratelimit-remaining-requests": "0",
                                     "x-ratelimit-reset-requests": "0"}, at)
    assert "unreadable" not in trio.extras
