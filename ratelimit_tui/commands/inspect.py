"""`ratelimit-tui inspect`: read one response head and show its rate limits."""

from __future__ import annotations

import json
import sys
import time
from typing import BinaryIO

from ratelimit_tui.commands.report import snapshot_table
from ratelimit_tui.core.body import error_info, with_body_hints
from ratelimit_tui.core.head import HeadError, parse_head
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.values import parse_instant, parse_number


def parse_at(text: str) -> float:
    """--at: epoch seconds, RFC 3339 or an HTTP-date."""
    value = parse_number(text)
    if value is None:
        value = parse_instant(text)
    if value is None:
        raise ValueError(f"--at: {text!r} is not a time (epoch seconds, RFC 3339 or HTTP-date)")
    return value


def run(source: BinaryIO, as_json: bool, at: float | None) -> int:
    try:
        head = parse_head(source.read())
    except HeadError as exc:
        print(f"ratelimit-tui inspect: {exc}", file=sys.stderr)
        return 2
    date = next((parse_instant(v) for k, v in head.headers if k.lower() == "date"), None)
    received_at = date or at or time.time()
    snap = parse_rate_limit_headers(head.headers, received_at, head.status)
    said = None
    if head.body and (head.status or 0) >= 400:
        snap = with_body_hints(snap, head.body)
        said = error_info(head.body).get("message")
    if as_json:
        print(json.dumps({**snap.to_json(), "error": said if isinstance(said, str) else None}))
    else:
        print(snapshot_table(snap))
        if isinstance(said, str) and said.strip():
            print(f"the body says: {' '.join(said.split())[:500]}")
    return 0
