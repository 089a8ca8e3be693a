"""Dashboard costs, measured on the real app (headless) and the real simulator.

1. Headers-to-gauge latency: from the moment the client's event hook sees a response's headers
   to the moment a gauge renders the new values; for streamed answers, also whether that came
   before the stream's end (budget: within 50 ms, i.e. at the first byte).
2. Plot redraw cost at 120x40 against the number of recorded calls (budget: under 15 ms,
   whatever the history length).
3. Memory of the in-memory history after 10k and 100k recorded calls (budget: flat).

usage: python benchmarks/bench_tui.py   (writes benchmarks/results/tui.json)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import tracemalloc
from pathlib import Path

from ratelimit_tui.config import load_settings
from ratelimit_tui.core.history import QuotaHistory
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.widgets.gauges import BucketGauge

ROOT = Path(__file__).parent


async def headers_to_gauge(calls: int = 20) -> dict:
    settings = load_settings({"demo": True, "poll_s": "off"}, env={})
    app = make_app(settings, sim_config=SimConfig(
        limits=Limits(rpm=10_000, tpm=10_000_000), latency_ms=20.0, tokens_per_s=100.0))
    seen: dict[float, float] = {}  # received_at -> when the hook saw it
    drawn: dict[float, float] = {}  # received_at -> when a gauge's line first rendered it
    ended: dict[float, float] = {}  # received_at -> when the call finished
    render_line = BucketGauge.render_line

    def timed_render_line(gauge, y):
        if gauge.state is not None:
            drawn.setdefault(gauge.state.observed_at, time.perf_counter())
        return render_line(gauge, y)

    BucketGauge.render_line = timed_render_line
    async with app.run_test(size=(120, 36)) as pilot:
        while app.session.client is None:
            await asyncio.sleep(0.01)
        client_event = app.session.client._on_event

        def spy(event):
            name = type(event).__name__
            if name == "ResponseObserved":
                seen[event.snapshot.received_at] = time.perf_counter()
            elif name == "CallRecord" and event.snapshot is not None:
                ended[event.snapshot.received_at] = time.perf_counter()
            client_event(event)

        app.session.client._on_event = spy
        for _ in range(calls):
            worker = app.send_chat("measure me")
            await worker.wait()
            await pilot.pause(0.05)
    BucketGauge.render_line = render_line
    latencies = [(drawn[t] - seen[t]) * 1000 for t in seen if t in drawn]
    before_end = sum(drawn[t] < ended[t] for t in seen if t in drawn and t in ended)
    return {"calls": calls, "median_ms": round(statistics.median(latencies), 2),
            "max_ms": round(max(latencies), 2),
            "drawn_before_stream_end": f"{before_end}/{len(latencies)}"}


async def plot_redraw(history_calls: list[int]) -> dict:
    settings = load_settings({"demo": True, "poll_s": "off"}, env={})
    results = {}
    for calls in history_calls:
        app = make_app(settings)
        app.start_client = lambda: None  # no network: this measures drawing only
        now = time.time()
        history = app.session.history
        for i in range(calls):  # one call a second for the last `calls` seconds, 2 buckets
            t = now - calls + i
            history.add(t, "requests", (i % 60) / 60)
            history.add(t, "tokens", (i % 37) / 37)
            if i % 50 == 0:
                history.add_throttle(t)
        async with app.run_test(size=(120, 40)) as pilot:
            plot = app.plot
            plot.load()  # as the client's start would
            await pilot.pause(0.2)
            per_window = {}
            for window in (300.0, 3600.0, 86400.0):
                plot.window = window
                times = []
                for _ in range(15):
                    plot._drawn = None  # as if the history had changed
                    started = time.perf_counter()
                    plot.redraw()  # the data, the build and the rows that changed
                    times.append((time.perf_counter() - started) * 1000)
                per_window[f"{int(window)}s"] = round(statistics.median(times), 2)
            results[calls] = per_window
    return results


def history_memory() -> dict:
    tracemalloc.start()
    history = QuotaHistory()
    sizes = {}
    now = time.time() - 100_000
    for i in range(100_000):
        history.add(now + i, "requests", 0.5)
        history.add(now + i, "tokens", 0.5)
        if i + 1 in (10_000, 100_000):
            sizes[i + 1] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {f"{k}_calls_kb": round(v / 1024) for k, v in sizes.items()}


def main() -> None:
    result = {
        "headers_to_gauge": asyncio.run(headers_to_gauge()),
        "plot_redraw_ms_120x40": asyncio.run(plot_redraw([10, 1_000, 100_000])),
        "history_memory": history_memory(),
    }
    (ROOT / "results" / "tui.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
