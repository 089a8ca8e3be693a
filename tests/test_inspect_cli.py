"""`ratelimit-tui inspect`, run as a user runs it: a subprocess fed curl -i text."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ratelimit_tui.core.values import iso_utc

SAMPLES = json.loads((Path(__file__).parent / "data" / "header_samples.json").read_text())


def inspect(data: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratelimit_tui", "inspect", *args],
                          input=data, capture_output=True, timeout=30)


def curl_i(sample, crlf=True) -> bytes:
    eol = "\r\n" if crlf else "\n"
    lines = [f"HTTP/2 {sample['status']}"] + [f"{k}: {v}" for k, v in sample["headers"].items()]
    body = json.dumps(sample["body"]) if "body" in sample else ""
    return (eol.join(lines) + eol + eol + body).encode()


@pytest.mark.parametrize("sample", SAMPLES[:: max(1, len(SAMPLES) // 8)], ids=lambda s: s["id"])
def test_json_output_matches_the_samples(sample):
    result = inspect(curl_i(sample), "--json", "--at", "1780000000")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"status", "received_at", "retry_after_s", "buckets", "error"}
    assert out["status"] == sample["status"]
    assert out["retry_after_s"] == sample["expected"].get("retry_after_seconds")
    for bucket in out["buckets"]:
        assert set(bucket) == {"metric", "scope", "window_s", "limit", "remaining",
                               "reset_in_s", "reset_at"}
    for key, want in sample["expected"].items():
        if key in ("requests", "tokens") and want:
            bucket = next(b for b in out["buckets"] if b["metric"] == key)
            assert (bucket["limit"], bucket["remaining"]) == (want["limit"], want["remaining"])


def test_date_header_beats_at_and_now():
    sample = next(s for s in SAMPLES if s["id"] == "anthropic-06")
    out = json.loads(inspect(curl_i(sample, crlf=False), "--json", "--at", "0").stdout)
    assert out["received_at"] == iso_utc(1711483199.0)  # the Date header: 2024-03-26T19:59:59Z
    requests = next(b for b in out["buckets"] if b["metric"] == "requests")
    assert requests["reset_in_s"] == 1.0


def test_at_sets_receipt_time_without_date():
    head = b"x-ratelimit-limit: 50\nx-ratelimit-remaining: 0\nx-ratelimit-reset: 1785082980000\n"
    out = json.loads(inspect(head, "--json", "--at", "2026-07-26T16:22:30Z").stdout)
    assert out["buckets"][0]["reset_in_s"] == 30.0


def test_json_object_input_and_readable_table(tmp_path):
    path = tmp_path / "headers.json"
    path.write_text(json.dumps({"x-ratelimit-limit-requests": "60",
                                "x-ratelimit-remaining-requests": "59",
                                "x-ratelimit-reset-requests": "1s"}))
    result = subprocess.run([sys.executable, "-m", "ratelimit_tui", "inspect", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "requests  59 / 60" in result.stdout and "~1 min (inferred)" in result.stdout


@pytest.mark.parametrize("data, message", [
    (b"", "empty input"),
    (b"\x00\x01\x02garbage", "binary input"),
    (b"<html><body>hello</body></html>\n", "not a response head"),
    (b"{not json", "invalid JSON"),
    (b"{" + b'"a":{' * 100_000, "invalid JSON"),
    (b"x-ratelimit-limit-requests: " + b"9" * 5000 + b"\n", None),
], ids=["empty", "binary", "html", "bad-json", "deep-json", "huge-value"])
def test_bad_input_is_one_clear_line(data, message):
    result = inspect(data)
    err = result.stderr.decode()
    assert "Traceback" not in err
    if message is None:  # readable head, unreadable value: unknown, not an error
        assert result.returncode == 0 and "n/a" in result.stdout.decode()
        return
    assert result.returncode == 2
    assert message in err and err.count("\n") == 1


def test_unreadable_buckets_are_named_in_words(tmp_path, run_main):
    path = tmp_path / "head.txt"
    path.write_text("HTTP/1.1 200 OK\nx-ratelimit-limit-requests: abc\n"
                    "x-ratelimit-remaining-requests: 5\nx-ratelimit-limit-tokens: 100\n"
                    "x-ratelimit-remaining-tokens: x\n")
    result = run_main("inspect", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("\nunreadable: requests, tokens"), result.stdout


def test_a_status_line_with_no_headers_is_a_head_and_its_body_is_read():
    page = b'HTTP/1.1 503 Service Unavailable\r\n\r\n{"error": {"message": "upstream overloaded"}}'
    result = inspect(page)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "status 503" in out and "no rate-limit headers" in out
    assert "the body says: upstream overloaded" in out
    out = json.loads(inspect(page, "--json").stdout)
    assert (out["status"], out["buckets"], out["error"]) == (503, [], "upstream overloaded")


def test_litellm_s_own_429_shows_the_wait_it_gives_only_under_the_prefix():
    capture = (Path(__file__).parent / "data" / "litellm" / "own-429.txt").read_bytes()
    result = inspect(capture)
    out = result.stdout.decode()
    assert "dialect litellm" in out and "retry-after: 1m" in out
    assert "RPM limit=3, current usage=4" in out
