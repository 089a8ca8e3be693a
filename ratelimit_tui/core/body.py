"""Rate-limit facts that some providers put only in an error body, never in headers.

Gemini's RetryInfo / QuotaFailure, OpenRouter's `error.metadata.headers`, and "Please try again in
6.78s" messages (Groq, OpenAI). Used for non-2xx responses only; never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.model import DAY, HOUR, MINUTE, Bucket, RateLimitSnapshot, WindowSource
from ratelimit_tui.core.values import parse_count, parse_go_duration

_TRY_AGAIN = re.compile(r"(?:try again|retry) in ([0-9][0-9.hmsuµn]*[hmsn])", re.IGNORECASE)
_QUOTA_WINDOWS = (("PerMinute", MINUTE), ("PerHour", HOUR), ("PerDay", DAY))
_QUOTA_METRICS = (("InputToken", "input_tokens"), ("OutputToken", "output_tokens"),
                  ("Token", "tokens"), ("Request", "requests"))
MAX_BODY = 64 * 1024  # error bodies are small; do not parse a megabyte of HTML


def error_info(body: bytes | str | None) -> dict[str, Any]:
    """The provider's error object ({'code', 'type', 'message', ...}) or {}."""
    data = _json(body)
    if isinstance(data, list) and data:  # Gemini's OpenAI-compatible endpoint sends an array
        data = data[0]
    if not isinstance(data, dict):
        return {}
    error = data.get("error", data)
    return error if isinstance(error, dict) else {}


def with_body_hints(snapshot: RateLimitSnapshot, body: bytes | str | None) -> RateLimitSnapshot:
    """The snapshot completed from the error body: buckets it lacks, a retry-after it lacks,
    and the longest wait anything asked for."""
    error = error_info(body)
    if not error:
        return snapshot
    buckets = list(snapshot.buckets)
    asked: list[float | None] = []  # every wait the body asks for
    metadata = error.get("metadata")
    mirrored = metadata.get("headers") if isinstance(metadata, dict) else None
    if isinstance(mirrored, dict):  # OpenRouter copies its X-RateLimit-* headers here
        inner = parse_rate_limit_headers(
            {str(k): str(v) for k, v in mirrored.items()}, snapshot.received_at
        )
        buckets += inner.buckets
        asked.append(inner.longest_retry_after_s)
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("RetryInfo"):
            asked.append(parse_go_duration(str(detail.get("retryDelay", ""))))
        elif kind.endswith("QuotaFailure"):
            buckets += _quota_violations(detail.get("violations"))
    if isinstance(error.get("message"), str) and (match := _TRY_AGAIN.search(error["message"])):
        asked.append(parse_go_duration(match.group(1)))
    known = [w for w in asked if w is not None]
    retry_after = snapshot.retry_after_s if snapshot.retry_after_s is not None else (
        known[0] if known else None)
    longest = max([w for w in (snapshot.longest_retry_after_s, *known) if w is not None],
                  default=None)
    seen: set[str] = set()
    unique = [b for b in buckets if not (b.id in seen or seen.add(b.id))]
    extras = dict(snapshot.extras)
    if isinstance(error.get("code"), str):
        extras["error_code"] = error["code"]
    return replace(snapshot, buckets=tuple(unique), retry_after_s=retry_after,
                   longest_retry_after_s=longest, extras=extras)


def _quota_violations(violations: Any) -> list[Bucket]:
    """Gemini names the exhausted quota ('...InputTokensPerModelPerMinute...') and its size."""
    buckets = []
    for violation in violations if isinstance(violations, list) else ():
        if not isinstance(violation, dict):
            continue
        quota_id = str(violation.get("quotaId", ""))
        window = next((w for name, w in _QUOTA_WINDOWS if name in quota_id), None)
        metric = next((m for name, m in _QUOTA_METRICS if name in quota_id), None)
        limit = parse_count(str(violation.get("quotaValue", "")))
        if metric is None or limit is None:
            continue
        buckets.append(Bucket(metric, None, window, WindowSource.HEADER if window else None,
                              limit, 0, None, None, None, window))
    return buckets


def _json(body: bytes | str | None) -> Any:
    if not body or len(body) > MAX_BODY:
        return None
    try:
        return json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
