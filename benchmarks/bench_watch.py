"""`watch` with 20 endpoints, each a simulator, polling every second.

1. CPU per poll: the real `ratelimit-tui watch` process (quiet, serving /metrics), its user +
   system CPU over a window after warm-up, divided by the polls it finished in that window.
2. Scrape time of /metrics with 20 endpoints (2 buckets each): 200 scrapes, classic text and
   OpenMetrics alternated.
3. Memory over an hour's worth of polls (20 endpoints x 3,600 = 72,000): the same `watch()`
   coroutine in this process on a clock that jumps instead of sleeping, so the hour runs as
   fast as the simulators answer; resident memory after every 12,000 polls (with --trace,
   Python's own heap too, which tells a leak from the allocator keeping freed arenas).

The 20 simulators live in one separate process (benchmarks/sims.py: no latency, limits out of
reach).

usage: python benchmarks/bench_watch.py [--endpoints 20] [--seconds 30] [--polls 72000]
(writes benchmarks/results/watch.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parent


def start_sims(count: int) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "sims.py"), str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, [proc.stdout.readline().strip() for _ in range(count)]


def write_config(directory: Path, urls: list[str]) -> Path:
    path = directory / "config.toml"
    path.write_text("".join(f'[endpoints.sim{i}]\nbase_url = "{url}"\npoll = 1\n'
                            for i, url in enumerate(urls)))
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | str = "self") -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def scrape(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def polls_so_far(url: str) -> int:
    text = scrape(url).decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("ratelimit_calls_total")))


def real_watch(directory: Path, seconds: float) -> dict:
    env = {**os.environ, "RATELIMIT_TUI_CONFIG": str(directory / "config.toml"),
           "RATELIMIT_TUI_DATA_DIR": str(directory / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "ratelimit_tui", "watch", "--quiet",
                             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    url = proc.stdout.readline().split()[-1]
    try:
        time.sleep(5)  # warm-up: imports, connections
        cpu0, polls0, t0 = cpu_seconds(proc.pid), polls_so_far(url), time.monotonic()
        time.sleep(seconds)
        cpu1, polls1, t1 = cpu_seconds(proc.pid), polls_so_far(url), time.monotonic()
        times, size = [], 0
        for i in range(200):
            started = time.perf_counter()
            body = scrape(url, "application/openmetrics-text; version=1.0.0" if i % 2 else None)
            times.append((time.perf_counter() - started) * 1000)
            size = max(size, len(body))
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    polls = polls1 - polls0
    return {"window_s": round(t1 - t0, 1), "polls": polls,
            "polls_per_s": round(polls / (t1 - t0), 1),
            "cpu_ms_per_poll": round((cpu1 - cpu0) * 1000 / polls, 2),
            "cpu_share_of_a_core": round((cpu1 - cpu0) / (t1 - t0), 3),
            "scrape_ms_median": round(statistics.median(times), 2),
            "scrape_ms_max": round(max(times), 2), "scrape_bytes": size,
            "rss_mb": round(rss, 1)}


class JumpingClock:
    """Epoch seconds that jump by every sleep asked: an hour of polling without the hour."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds / 20  # 20 pollers share the clock: each moves it by its share
        await asyncio.sleep(0)


async def an_hour(directory: Path, polls: int, trace: bool) -> list[dict]:
    from ratelimit_tui.commands.watch import Printer, watch
    from ratelimit_tui.config import load_endpoints
    from ratelimit_tui.core.store import HistoryStore
    from ratelimit_tui.metrics.book import MetricsBook

    endpoints = load_endpoints(None, {}, {}, directory / "config.toml")
    book, stop, clock = MetricsBook(), asyncio.Event(), JumpingClock()
    store = HistoryStore(directory / "hour.sqlite3")
    task = asyncio.create_task(watch(endpoints, {s.name: s.base_url for s in endpoints}, book,
                                     store, Printer(True, stop.set), stop, clock=clock,
                                     sleep=clock.sleep))
    samples, step, started = [], polls // 6, time.monotonic()
    while len(samples) < 6:
        done = sum(sum(f.calls.values()) for f in book.facts())
        if done >= step * (len(samples) + 1):
            samples.append({"polls": done, "rss_mb": round(rss_mb(), 1),
                            "seconds": round(time.monotonic() - started, 1)})
            if trace:  # Python's own allocations, apart from the allocator's arenas
                samples[-1]["python_heap_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
            print(samples[-1], flush=True)
        await asyncio.sleep(0.2)
    stop.set()
    await task
    store.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--polls", type=int, default=72_000)
    parser.add_argument("--trace", action="store_true",
                        help="also trace Python's allocations (slower): is growth ours?")
    args = parser.parse_args()
    sims, urls = start_sims(args.endpoints)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            write_config(directory, urls)
            result = {"endpoints": args.endpoints, "watch": real_watch(directory, args.seconds)}
            print(json.dumps(result["watch"]), flush=True)
            os.environ["RATELIMIT_TUI_DATA_DIR"] = str(directory / "data")
            if args.trace:
                tracemalloc.start()
            result["hour"] = asyncio.run(an_hour(directory, args.polls, args.trace))
    finally:
        threading.Thread(target=sims.communicate, daemon=True).start()
        sims.stdin.close()
        sims.wait(timeout=30)
    out = ROOT / "results" / "watch.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
