"""`ratelimit-tui watch`: every endpoint polled on its own schedule, none held up by another,
each call in the history; and the real command, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from programs import readline

from ratelimit_tui.commands.watch import Printer, watch
from ratelimit_tui.config import load_endpoints
from ratelimit_tui.core.store import HistoryStore, read_calls
from ratelimit_tui.metrics.book import MetricsBook
from ratelimit_tui.sim.limiter import Limits

KEY = "sk-watch-SECRET-0123456789"


def config(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


class TellingBook(MetricsBook):
    """A book that says when it learns something, for a test to wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.news = asyncio.Event()

    def observe(self, name, event) -> None:
        super().observe(name, event)
        self.news.set()


async def until(book: TellingBook, condition, seconds: float = 20.0) -> None:
    """Wait on a condition, checked each time the book learns something (the calls are real
    HTTP): never for a span of time."""
    async with asyncio.timeout(seconds):
        while not condition():
            book.news.clear()
            await book.news.wait()


async def test_each_endpoint_polls_on_its_own_and_a_failing_one_stops_none(
        run_sim, tmp_path, capsys):
    from scenes import ScriptedTime

    # Now, not 1970: the store prunes by the real clock, and would delete its first rows as
    # older than a week once a first batch came before its first prune.
    clock = ScriptedTime(start=time.time())
    healthy = run_sim(clock=clock, limits=Limits(rpm=600, tpm=100_000))
    failing = run_sim(clock=clock, faults={"500": 1.0})
    path = config(tmp_path, f'''
[endpoints.healthy]
base_url = "{healthy.base_url}"
api_key_env = "SIM_KEY"
poll = 5
[endpoints.failing]
base_url = "{failing.base_url}"
poll = 7
[endpoints.gone]
base_url = "http://127.0.0.1:9/v1"
''')
    endpoints = load_endpoints(None, {}, {"SIM_KEY": KEY}, path)
    book = TellingBook()
    store = HistoryStore(tmp_path / "history.sqlite3", batch_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(watch(
        endpoints, {s.name: s.base_url for s in endpoints}, book, store,
        Printer(quiet=False, on_gone=stop.set, clock=clock), stop, clock=clock,
        sleep=clock.sleep))

    def calls() -> dict[str, int]:
        return {f.name: sum(f.calls.values()) for f in book.facts()}

    await until(book, lambda: len(calls()) == 3 and min(calls().values()) >= 3)
    stop.set()
    await asyncio.wait_for(task, 20)
    store.close()
    facts = {f.name: f for f in book.facts()}
    assert facts["healthy"].up and facts["healthy"].calls["ok"] >= 3
    assert not facts["failing"].up and facts["failing"].calls["server_error"] >= 3
    assert not facts["gone"].up and facts["gone"].calls["connection"] >= 3
    assert {5.0, 7.0, 60.0} <= set(clock.waits)  # each its own interval (gone: the default)
    lines = capsys.readouterr().out.splitlines()
    assert any(" healthy 200 in " in line and "requests " in line for line in lines)
    assert any(" gone cannot reach 127.0.0.1:9" in line for line in lines)
    stored = list(read_calls(tmp_path / "history.sqlite3"))
    assert {row["endpoint"] for row in stored} == {
        healthy.base_url, failing.base_url, "http://127.0.0.1:9/v1"}
    finished = sum(n for f in book.facts() for o, n in f.calls.items() if o != "cancelled")
    assert len(stored) == finished  # every call, the failures too


def test_the_command_serves_prints_and_stops_cleanly_on_sigterm(run_sim, tmp_path):
    sim = run_sim()
    config(tmp_path, f'[endpoints.sim]\nbase_url = "{sim.base_url}"\napi_key_env = "SIM_KEY"\n')
    env = {**os.environ, "SIM_KEY": KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "ratelimit_tui", "watch", "--listen", "127.0.0.1:0", "--poll",
         "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = readline(process)
        assert first.startswith("Serving metrics on http://127.0.0.1:")
        poll = readline(process)
        assert " sim 200 in " in poll and "requests " in poll
        with urllib.request.urlopen(first.split()[-1], timeout=10) as response:
            metrics = response.read().decode()
        assert 'ratelimit_up{endpoint="sim"' in metrics and KEY not in metrics
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and KEY not in out + err
    exported = subprocess.run([sys.executable, "-m", "ratelimit_tui", "export", "--format",
                               "jsonl"], capture_output=True, text=True, timeout=30, env=env)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert rows and all(row["endpoint"] == sim.base_url for row in rows)  # committed at exit
