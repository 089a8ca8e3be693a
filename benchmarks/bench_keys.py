"""Keystroke echo while the dashboard is busy, measured on the real app (headless) against the
real simulator: from a key's arrival to the input showing it, during `/burst 200` (budget:
under 100 ms). And the F2 panel's cost with a hostile head of 6,000 headers (tests/hostile.py).

usage: python benchmarks/bench_keys.py   (writes benchmarks/results/keys.json)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from textual import events

from ratelimit_tui.config import load_settings
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.commands import Command

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT.parent / "tests"))


async def echo_during_burst(calls: int = 200) -> dict:
    settings = load_settings({"demo": True, "poll_s": "off", "history": False}, env={})
    app = make_app(settings, sim_config=SimConfig(limits=Limits(rpm=60, tpm=40_000),
                                                  latency_ms=0.0, tokens_per_s=0.0))
    waits = []
    async with app.run_test(size=(120, 36)) as pilot:
        while app.session.client is None:
            await asyncio.sleep(0.01)
        chat_input = app.chat.input
        app.run_command(Command("burst", str(calls)))
        await asyncio.sleep(0.005)
        started = time.perf_counter()
        while any(w.group == "burst" and not w.is_finished for w in app.workers):
            before = chat_input.value
            sent = time.perf_counter()
            chat_input.post_message(events.Key("a", "a"))
            while chat_input.value == before:
                await asyncio.sleep(0.0005)
            waits.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.01)
        burst_s = time.perf_counter() - started
        await pilot.pause()
    return {"calls": calls, "burst_s": round(burst_s, 2), "keys": len(waits),
            "echo_ms_median": round(statistics.median(waits), 1) if waits else None,
            "echo_ms_max": round(max(waits), 1) if waits else None}


async def headers_panel(behaviour: str = "many_headers") -> dict:
    from hostile import HostileServer

    with HostileServer(behaviour) as server:
        settings = load_settings({"base_url": server.base_url, "history": False},
                                 env={"OPENAI_API_KEY": "sk-bench"})
        app = make_app(settings)
        async with app.run_test(size=(120, 36)) as pilot:
            while app.session.client is None:
                await asyncio.sleep(0.01)
            await app.session.client.probe()
            await pilot.pause()
            started = time.perf_counter()
            await pilot.press("f2")
            await pilot.pause()
            opened_ms = (time.perf_counter() - started) * 1000
            chat_input = app.chat.input
            sent = time.perf_counter()
            chat_input.post_message(events.Key("a", "a"))
            while not chat_input.value:
                await asyncio.sleep(0.0005)
            echo_ms = (time.perf_counter() - sent) * 1000
    return {"headers": 6000, "open_ms": round(opened_ms, 1),
            "echo_ms_with_panel_open": round(echo_ms, 1)}


def main() -> None:
    result = {"burst_200": asyncio.run(echo_during_burst()),
              "headers_panel": asyncio.run(headers_panel())}
    (ROOT / "results" / "keys.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
