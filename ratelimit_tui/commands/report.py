"""The plain-text table of a snapshot that `inspect` and `probe` print."""

from __future__ import annotations

from ratelimit_tui.core.format import compact_duration, count, window_unit
from ratelimit_tui.core.model import RateLimitSnapshot, WindowSource
from ratelimit_tui.core.values import iso_utc


def snapshot_table(snap: RateLimitSnapshot) -> str:
    lines = [" · ".join(filter(None, [
        f"status {snap.status}" if snap.status is not None else None,
        f"dialect {snap.dialect}" if snap.dialect else None,
        f"received {iso_utc(snap.received_at)}",
    ]))]
    if not snap.buckets:
        lines.append("no rate-limit headers in this response")
    else:
        rows = [("bucket", "remaining / limit", "window", "resets in")]
        for b in snap.buckets:
            inferred = b.window_source == WindowSource.INFERRED
            window = "unknown" if b.window_s is None else (
                f"{'~' if inferred else ''}1 {window_unit(b.window_s, inferred)}"
                + (" (inferred)" if inferred else ""))
            reset = "n/a" if b.reset_in_s is None else (
                "full" if b.reset_in_s == 0 and b.remaining == b.limit else
                compact_duration(b.reset_in_s))
            rows.append((b.id, f"{count(b.remaining)} / {count(b.limit)}", window, reset))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                  for row in rows]
    retry = "none" if snap.retry_after_s is None else compact_duration(snap.retry_after_s)
    hint = " (a hint: the response was not throttled)" if (
        snap.retry_after_s is not None and not snap.throttled) else ""
    lines.append(f"retry-after: {retry}{hint}")
    for key, value in snap.extras.items():
        said = ", ".join(map(str, value)) if isinstance(value, list) else value  # words, not a repr
        lines.append(f"{key.replace('_', ' ')}: {said}")
    return "\n".join(lines)
