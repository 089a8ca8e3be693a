"""Every captured sample in tests/data/header_samples.json, checked against its expected values."""

import json
from pathlib import Path

import pytest

from ratelimit_tui.core.body import with_body_hints
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.model import window_name
from ratelimit_tui.core.values import iso_utc, parse_instant

SAMPLES = json.loads((Path(__file__).parent / "data" / "header_samples.json").read_text())
NO_DATE = 1_780_000_000.0  # any instant will do where a sample has no Date header

# Sample keys that name a bucket differently from Bucket.id.
BUCKET_IDS = {("ietf-draft-01", "burst"): "burst_requests",
              ("huggingface-01", "requests"): "api_requests"}
# Expected values that are not about buckets: each is checked elsewhere or cannot come from headers.
NOT_BUCKETS = {
    "retry_after_seconds", "throttled", "should_retry", "retry_after_source",
    "abuse_penalty_active", "limit_type", "time_remaining_seconds", "query_cost_tokens",
    "binding_limit", "derived_wait_seconds",  # QuotaState, tested in test_quota.py
    "retryable",  # a client decision (413 is never retried), tested in test_client.py
    "policy", "policies",  # IETF policy metadata: checked through the buckets they describe
}
# Windows the sample knows from prose, not from any header (OpenRouter's 429 says "per minute"
# only in its message): the parser reports them as unknown.
WINDOW_FROM_PROSE = {("openrouter-01", "requests")}


def received_at(sample):
    date = {k.lower(): v for k, v in sample["headers"].items()}.get("date")
    return parse_instant(date) if date else NO_DATE


def parse(sample):
    snap = parse_rate_limit_headers(sample["headers"], received_at(sample), sample["status"])
    if "body" in sample:
        snap = with_body_hints(snap, json.dumps(sample["body"]))
    return snap


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_sample(sample):
    snap = parse(sample)
    expected = sample["expected"]
    assert snap.retry_after_s == expected.get("retry_after_seconds")
    if "throttled" in expected:
        assert snap.throttled is expected["throttled"]
    if "should_retry" in expected:
        assert snap.should_retry is expected["should_retry"]
    extras = {"abuse_penalty_active": "abuse_penalty_active", "limit_type": "limit_type",
              "time_remaining_seconds": "time_remaining_s",
              "query_cost_tokens": "query_cost_tokens"}
    for key, extra in extras.items():
        if key in expected:
            assert snap.extras[extra] == expected[key]
    for key, want in expected.items():
        if key in NOT_BUCKETS:
            continue
        bucket = snap.bucket(BUCKET_IDS.get((sample["id"], key), key))
        if want is None:
            assert bucket is None, key
            continue
        assert bucket is not None, (key, [b.id for b in snap.buckets])
        check_bucket(sample["id"], key, bucket, want)


def check_bucket(sample_id, key, bucket, want):
    assert bucket.limit == want.get("limit"), key
    if "remaining" in want:
        assert bucket.remaining == want["remaining"], key
    if "reset_seconds" in want:
        if want["reset_seconds"] is None:
            assert bucket.reset_in_s is None, key
        else:
            assert bucket.reset_in_s == pytest.approx(want["reset_seconds"], abs=1e-6), key
    if "reset_at" in want:
        assert iso_utc(bucket.reset_at) == want["reset_at"].replace("Z", ".000Z"), key
    if "reset_epoch_ms" in want:
        assert bucket.reset_at * 1000 == want["reset_epoch_ms"]
    if "window_seconds" in want:
        assert bucket.window_s == want["window_seconds"], key
    if "inferred_window_seconds" in want:
        assert bucket.window_s == pytest.approx(want["inferred_window_seconds"], rel=1e-3), key
    if "window" in want:
        if (sample_id, key) in WINDOW_FROM_PROSE:
            assert bucket.window_s is None
        else:
            assert window_name(bucket.window_s) == want["window"], key


def test_ietf_policies_become_buckets():
    sample = next(s for s in SAMPLES if s["id"] == "ietf-draft-01")
    snap = parse(sample)
    policies = {b.scope: (b.limit, b.window_s) for b in snap.buckets}
    for policy in sample["expected"]["policies"]:
        assert policies[policy["name"]] == (policy["quota"], policy["window_seconds"])
    hf = parse(next(s for s in SAMPLES if s["id"] == "huggingface-01"))
    assert [(b.scope, b.limit, b.window_s) for b in hf.buckets] == [("api", 500, 300)]
