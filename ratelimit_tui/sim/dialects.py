"""How each provider writes the limiter's state into response headers."""

from __future__ import annotations

import math

from ratelimit_tui.sim.limiter import BucketView, Decision

# What --fault garbage sends: every way a header value can be unreadable.
GARBAGE_HEADERS = {
    "x-ratelimit-limit-requests": "many",
    "x-ratelimit-remaining-requests": "-1",
    "x-ratelimit-reset-requests": "soon",
    "x-ratelimit-limit-tokens": "X-RATELIMIT-LIMIT-TOKENS-XXX",
    "x-ratelimit-remaining-tokens": "NaN",
    "x-ratelimit-reset-tokens": "1.2.3s",
}

# The real API's Cloudflare cookie, which the openai dialect sets on the first response to each
# key only: an httpx client parses a set-cookie in about a fifth of its time per call. It names
# OpenAI's domain, as the real one does, so a client on loopback drops it rather than sending it
# back with every request (which cost as much again).
OPENAI_COOKIE = ("__cf_bm=sim-cookie; path=/; domain=.api.openai.com; HttpOnly; Secure; "
                 "SameSite=None")


def go_duration(seconds: float) -> str:
    """Seconds as Go's time.Duration prints them: '6m0s', '1.5s', '12ms', '172.8µs'."""
    if seconds <= 0:
        return "0s"
    if seconds < 1e-3:
        return _trim(seconds * 1e6, 3) + "µs"
    if seconds < 1:
        return _trim(seconds * 1e3, 6) + "ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{int(hours)}h" if hours else ""
    if hours or minutes:
        text += f"{int(minutes)}m"
    return text + _trim(secs, 3) + "s"


def _trim(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _requests_view(decision: Decision, daily_first: bool) -> BucketView | None:
    """The one requests bucket a single-requests-header dialect reports. OpenAI reports the one
    closest to running out, which is why its 'requests' are sometimes per day."""
    minute, day = decision.view("requests"), decision.view("requests_day")
    if day is None or minute is None:
        return day or minute
    if daily_first:
        return day
    return min((minute, day), key=lambda v: v.remaining / v.limit)


def rate_headers(dialect: str, decision: Decision, now_epoch: float) -> dict[str, str]:
    """The rate-limit headers of one response (200 or 429) in the given dialect."""
    requests = _requests_view(decision, daily_first=dialect == "groq")
    tokens = decision.view("tokens")
    views = {"requests": requests, "tokens": tokens}
    headers: dict[str, str] = {}
    if dialect == "openrouter":
        # OpenRouter sends its X-RateLimit-* trio only on the error response.
        if not decision.allowed and requests is not None:
            reset_ms = math.ceil((now_epoch + requests.reset_s) * 1000)
            headers.update({"X-RateLimit-Limit": str(requests.limit),
                            "X-RateLimit-Remaining": str(requests.remaining),
                            "X-RateLimit-Reset": str(reset_ms)})
        return headers
    for name, view in views.items():
        if view is None:
            continue
        if dialect == "azure":
            headers[f"x-ratelimit-limit-{name}"] = str(view.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(view.remaining)
            headers[f"x-ratelimit-reset-{name}"] = str(math.ceil(view.reset_s))
            headers[f"x-ratelimit-renewalperiod-{name}"] = str(int(view.window_s))
        elif dialect == "anthropic-compat":
            headers[f"x-ratelimit-{name}"] = str(view.limit)  # no '-limit-' infix
            headers[f"x-ratelimit-remaining-{name}"] = str(view.remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(view.reset_s)
        else:  # openai, groq
            headers[f"x-ratelimit-limit-{name}"] = str(view.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(view.remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(view.reset_s)
    if dialect == "azure":
        headers["x-ratelimit-abusepenalty-active"] = "False"
    elif dialect == "groq":
        headers["x-groq-region"] = "sim"
    elif dialect == "openai":
        # Sent by the real API; the dashboard must redact them (and OPENAI_COOKIE).
        headers["openai-organization"] = "org-sim-demo"
        headers["openai-project"] = "proj_sim_demo"
    return headers


def mirrored_error_metadata(dialect: str, headers: dict[str, str]) -> dict | None:
    """OpenRouter repeats its rate-limit headers in the 429 body."""
    if dialect != "openrouter" or not headers:
        return None
    return {"headers": dict(headers)}
