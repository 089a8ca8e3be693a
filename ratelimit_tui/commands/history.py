"""`ratelimit-tui export` and `ratelimit-tui history`: the stored calls, out or summed up."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

from ratelimit_tui.core.format import compact_duration, count, plural, rounded_ms
from ratelimit_tui.core.store import StoreError, read_calls
from ratelimit_tui.core.values import iso_utc
from ratelimit_tui.locations import history_db

BASE_FIELDS = ("time", "endpoint", "key_fp", "kind", "model", "outcome", "status", "attempts",
               "throttled", "latency_ms", "ttfb_ms", "prompt_tokens", "completion_tokens",
               "total_tokens", "request_id", "retry_after_s", "dialect")


def _calls(since_s: float | None, endpoint: str | None) -> list[dict[str, Any]] | None:
    """The stored calls; `endpoint` is a config file's endpoint name, a URL, a host[:port] or
    'demo'."""
    key_fp = None
    if endpoint is not None and _is_a_name(endpoint):
        from ratelimit_tui.config import ConfigError, stored_name

        try:
            endpoint, key_fp = stored_name(endpoint)
        except ConfigError as exc:
            print(f"ratelimit-tui: {exc}", file=sys.stderr)
            return None
    path = history_db()
    if not path.exists():
        print(f"no history yet ({path} does not exist)", file=sys.stderr)
        return None
    since = time.time() - since_s if since_s else None
    try:
        return list(read_calls(path, since, endpoint, key_fp))
    except StoreError as exc:
        print(f"ratelimit-tui: {exc}", file=sys.stderr)
        return None


def _is_a_name(endpoint: str) -> bool:
    """A config file's endpoint name, not a URL, a host[:port] or 'demo'."""
    return endpoint not in ("demo", "localhost") and not any(c in endpoint for c in "/:.")


def export(since_s: float | None, fmt: str, endpoint: str | None,
           out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now: the stdout of the call, not of the import
    calls = _calls(since_s, endpoint)
    if calls is None:
        return 1
    for call in calls:
        call["time"] = iso_utc(call.pop("t"))
        for timing in ("latency_ms", "ttfb_ms"):
            if call[timing] is not None:
                call[timing] = rounded_ms(call[timing])
    if fmt == "json":
        json.dump([_nested(c) for c in calls], out, indent=1)
        out.write("\n")
    elif fmt == "jsonl":
        for call in calls:
            out.write(json.dumps(_nested(call)) + "\n")
    else:
        bucket_ids = list(dict.fromkeys(b["id"] for c in calls for b in c["buckets"]))
        columns = [*BASE_FIELDS] + [f"{bid}_{what}" for bid in bucket_ids
                                    for what in ("limit", "remaining", "reset_s")]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for call in calls:
            flat = dict(call)
            for bucket in call["buckets"]:
                for what in ("limit", "remaining", "reset_s"):
                    flat[f"{bucket['id']}_{what}"] = bucket[what]
            writer.writerow(flat)
    return 0


def _nested(call: dict[str, Any]) -> dict[str, Any]:
    """JSON keeps buckets as an object per bucket id."""
    out = {k: call[k] for k in BASE_FIELDS}
    out["buckets"] = {b.pop("id"): b for b in call["buckets"]}
    return out


def summary(since_s: float, endpoint: str | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    calls = _calls(since_s, endpoint)
    if calls is None:
        return 1
    if not calls:
        print(f"no calls in the last {compact_duration(since_s)}", file=out)
        return 0
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for call in calls:  # two keys on one endpoint have two quotas: never add them up
        groups.setdefault((call["endpoint"], call["key_fp"]), []).append(call)
    for (endpoint, key_fp), rows in groups.items():
        kinds = Counter(r["kind"] for r in rows)
        throttled = sum(r["throttled"] or 0 for r in rows)
        print(f"{endpoint} · key {key_fp} · last {compact_duration(since_s)}", file=out)
        print(f"  calls: {count(len(rows))} ("
              + ", ".join(f"{n} {k}" for k, n in kinds.most_common())
              + f") · 429s: {count(throttled)}", file=out)
        failed = Counter(r["outcome"] for r in rows if r["outcome"] not in ("ok", "cancelled"))
        if failed:  # 88 calls that all failed must not read like 88 that worked
            print("  not ok: " + ", ".join(f"{n} {outcome.replace('_', ' ')}"
                                           for outcome, n in failed.most_common()), file=out)
        lowest: dict[str, tuple[int, int | None]] = {}
        for row in rows:
            for b in row["buckets"]:
                if b["remaining"] is not None and (
                        b["id"] not in lowest or b["remaining"] < lowest[b["id"]][0]):
                    lowest[b["id"]] = (b["remaining"], b["limit"])
        if lowest:
            print("  lowest remaining: " + " · ".join(
                f"{bid} {count(rem)} / {count(lim)}" for bid, (rem, lim) in lowest.items()),
                file=out)
        minutes = Counter(int(r["t"] // 60) for r in rows)
        minute, calls_in_it = minutes.most_common(1)[0]
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(minute * 60))
        print(f"  busiest minute: {stamp} with {plural(calls_in_it, 'call')}", file=out)
    return 0


