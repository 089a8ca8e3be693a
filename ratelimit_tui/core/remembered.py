"""The latest snapshot of each endpoint and key, in a small JSON file beside the history.

The history's writer keeps it up to date (the dashboard's, watch's, probe's calls alike); the
dashboard reads it before its first frame, with no SQLite on the way, so its gauges open on the
last known numbers, marked stale and projected from their age."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ratelimit_tui.core.model import Bucket, RateLimitSnapshot, Refill, WindowSource

FILE_NAME = "latest.json"  # beside the history file
MAX_REMEMBERED = 64  # endpoint and key pairs; the least recent are forgotten
MAX_FILE_BYTES = 1 << 20  # a file larger than this is not ours to trust: no memory


def state_of(snap: RateLimitSnapshot) -> dict[str, Any]:
    """Everything a gauge needs to be drawn again from this response."""
    return {"received_at": snap.received_at, "status": snap.status, "dialect": snap.dialect,
            "buckets": [{"metric": b.metric, "scope": b.scope, "window_s": b.window_s,
                         "window_source": b.window_source, "limit": b.limit,
                         "remaining": b.remaining, "reset_at": b.reset_at,
                         "reset_in_s": b.reset_in_s, "refill": b.refill,
                         "name_window_s": b.name_window_s} for b in snap.buckets]}


def snapshot_of(state: dict[str, Any]) -> RateLimitSnapshot:
    buckets = tuple(Bucket(
        b["metric"], b["scope"], b["window_s"],
        WindowSource(b["window_source"]) if b["window_source"] else None, b["limit"],
        b["remaining"], b["reset_at"], b["reset_in_s"],
        Refill(b["refill"]) if b["refill"] else None, b["name_window_s"])
        for b in state["buckets"])
    return RateLimitSnapshot(state["received_at"], state["status"], buckets,
                             dialect=state["dialect"])


def _key(endpoint: str, key_fp: str) -> str:
    return f"{key_fp} {endpoint}"


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recall(path: Path, endpoint: str, key_fp: str) -> RateLimitSnapshot | None:
    """The latest snapshot remembered for this endpoint and key; None when there is none or
    the file cannot be read (a memory, not a record: nothing to report)."""
    state = _read(path).get(_key(endpoint, key_fp))
    try:
        return snapshot_of(state) if state else None
    except (KeyError, TypeError, ValueError):
        return None


def remember(path: Path, latest: dict[tuple[str, str], RateLimitSnapshot]) -> None:
    """Merge these snapshots (by endpoint and key) into the file: the newer of two wins, the
    oldest pairs go beyond MAX_REMEMBERED, and the file is replaced whole, never half
    written. Two processes may race; the loser's newest snapshot is only not remembered."""
    states = _read(path)
    for (endpoint, key_fp), snap in latest.items():
        key = _key(endpoint, key_fp)
        known = states.get(key)
        if not isinstance(known, dict) or known.get("received_at", 0) <= snap.received_at:
            states[key] = state_of(snap)
    newest = sorted(states.items(), key=lambda kv: kv[1].get("received_at", 0)
                    if isinstance(kv[1], dict) else 0)[-MAX_REMEMBERED:]
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(dict(newest)), encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
