"""The latest snapshot of each endpoint, remembered beside the history for the next first
frame: whole round trips, newer wins, bounded, and a bad file is no memory, not an error."""

from __future__ import annotations

import json

from test_header_samples import SAMPLES, parse

from ratelimit_tui.core.model import RateLimitSnapshot
from ratelimit_tui.core.remembered import MAX_REMEMBERED, recall, remember


def snapshots():
    for sample in SAMPLES:  # real heads of every provider: every kind of bucket
        snap = parse(sample)
        if snap.buckets:
            yield sample["id"], snap


def test_every_captured_head_comes_back_whole(tmp_path):
    path = tmp_path / "latest.json"
    captured = dict(snapshots())
    assert len(captured) > 10
    for name, snap in captured.items():
        remember(path, {(name, "fp"): snap})
    for name, snap in captured.items():
        again = recall(path, name, "fp")
        assert again.buckets == snap.buckets and again.received_at == snap.received_at


def test_newer_wins_the_oldest_go_and_a_bad_file_is_no_memory(tmp_path):
    path = tmp_path / "latest.json"
    (_, snap), *_ = snapshots()
    later = RateLimitSnapshot(snap.received_at + 5, snap.status, snap.buckets[:1])
    remember(path, {("e", "k"): later})
    remember(path, {("e", "k"): snap})  # older news: kept out
    assert len(recall(path, "e", "k").buckets) == 1
    for i in range(MAX_REMEMBERED + 10):
        remember(path, {(f"e{i}", "k"): RateLimitSnapshot(snap.received_at + 100 + i, 200,
                                                          snap.buckets)})
    assert len(json.loads(path.read_text())) == MAX_REMEMBERED
    assert recall(path, "e", "k") is None and recall(path, "e99", "k") is None
    path.write_text("{not json")
    assert recall(path, "e", "k") is None
    path.write_text(json.dumps({"k e": {"received_at": "soon"}}))
    assert recall(path, "e", "k") is None
