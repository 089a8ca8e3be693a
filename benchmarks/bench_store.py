"""History store costs: insert throughput, and the start-up cost of loading the plot's history
from 7 days of calls at one call per second (604,800 calls).

usage: python benchmarks/bench_store.py   (writes benchmarks/results/store.json)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from test_store import record  # one realistic call record, two buckets

from ratelimit_tui.core.store import HistoryStore, connect, load_recent, row_of

ROOT = Path(__file__).parent


def insert_throughput(path: Path, calls: int = 50_000) -> dict:
    store = HistoryStore(path)
    template = record(0)
    started = time.perf_counter()
    for _ in range(calls):
        store.add(template, "https://api.openai.com/v1", "fp")
    queued = time.perf_counter() - started
    store.close(timeout=120)
    elapsed = time.perf_counter() - started
    return {"calls": calls, "queue_us_per_call": round(queued / calls * 1e6, 2),
            "committed_per_s": round(calls / elapsed)}


def load_cost(path: Path, days: int = 7) -> dict:
    now = time.time()
    connection = connect(path)
    writer = HistoryStore.__new__(HistoryStore)
    writer._connection = connection
    calls = days * 86400
    started = time.perf_counter()
    batch = []
    for i in range(calls):
        rec = record(i, remaining=60 - i % 60, status=429 if i % 500 == 0 else 200,
                     t=now - calls + i)
        batch.append(row_of(rec, "https://api.openai.com/v1", "fp"))
        if len(batch) == 10_000:
            writer._write(batch)
            batch.clear()
    writer._write(batch)
    fill_s = time.perf_counter() - started
    connection.close()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        history = load_recent(path, "https://api.openai.com/v1", "fp", now)
        times.append(time.perf_counter() - started)
    points = sum(len(p) for p in history.series(86400.0, now).values())
    return {"calls_stored": calls, "file_mb": round(path.stat().st_size / 2**20, 1),
            "fill_s": round(fill_s, 1), "load_ms_median": round(statistics.median(times) * 1000),
            "points_in_24h_plot": points}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = {"insert": insert_throughput(Path(folder) / "insert.sqlite3"),
                  "load_7_days": load_cost(Path(folder) / "week.sqlite3")}
    (ROOT / "results" / "store.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
