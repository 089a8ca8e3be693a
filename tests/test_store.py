"""The SQLite history: round trip, crash safety, concurrent writers, bad files, exports."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ratelimit_tui.core.events import CallRecord, Usage
from ratelimit_tui.core.headers import parse_rate_limit_headers
from ratelimit_tui.core.store import HistoryStore, StoreError, load_recent, read_calls

NOW = time.time()


def record(i: int = 0, remaining: int = 50, status: int = 200, t: float | None = None):
    t = NOW - 100 + i if t is None else t
    snap = parse_rate_limit_headers({
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": "10s", "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "900", "x-ratelimit-reset-tokens": "6s"}, t, status)
    return CallRecord(kind="chat", model="gpt-4o-mini", started_at=t,
                      outcome="ok" if status == 200 else "rate_limited", status=status,
                      attempts=1, throttled=int(status == 429), latency_s=0.25, ttfb_s=0.05,
                      ttft_s=None, usage=Usage(10, 5, 15), request_id=f"req_{i}",
                      snapshot=snap)


def store_at(path, **options) -> HistoryStore:
    return HistoryStore(path, batch_s=0.01, **options)


def count_rows(path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT COUNT(*) FROM calls").fetchone()[0]


def test_round_trip_and_plot_history(tmp_path):
    path = tmp_path / "history.sqlite3"
    store = store_at(path)
    for i in range(30):
        store.add(record(i, remaining=60 - i, status=429 if i == 29 else 200), "https://x/v1",
                  "fp1")
    store.add(record(0), "https://other/v1", "fp1")
    store.close()
    calls = list(read_calls(path, endpoint="https://x/v1"))
    assert len(calls) == 30
    first = calls[0]
    assert (first["model"], first["status"], first["latency_ms"], first["total_tokens"]) == (
        "gpt-4o-mini", 200, 250.0, 15)
    assert first["buckets"][0] == {"id": "requests", "metric": "requests", "scope": None,
                                   "window_s": None, "limit": 60,
                                   "remaining": 60, "reset_s": 10.0}
    history = load_recent(path, "https://x/v1", "fp1", NOW)
    requests = history.series(300.0, NOW)["requests"]
    assert min(f for _, f in requests) == pytest.approx(31 / 60)
    assert len(history.throttles(300.0, NOW)) == 1
    assert load_recent(path, "https://x/v1", "other-key", NOW).series(300.0, NOW) == {}


def test_file_is_private(tmp_path):
    path = tmp_path / "data" / "history.sqlite3"
    store_at(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_killed_writer_loses_no_committed_row(tmp_path):
    path = tmp_path / "history.sqlite3"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from test_store import record
        from ratelimit_tui.core.store import HistoryStore, row_of
        store = HistoryStore.__new__(HistoryStore)
        from ratelimit_tui.core.store import connect
        store._connection = connect(__import__("pathlib").Path({str(path)!r}))
        store.latest_path = __import__("pathlib").Path({str(tmp_path / "latest.json")!r})
        store._memory_failed = False
        for batch in range(10_000):
            store._write([row_of(record(i), "e", "k") for i in range(20)])
            print((batch + 1) * 20, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    committed = 0
    while committed < 2_000:
        committed = int(proc.stdout.readline())
    proc.kill()  # SIGKILL, mid-write
    proc.wait()
    proc.stdout.close()
    rows = count_rows(path)
    assert rows >= committed
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_concurrent_writers_share_the_file(tmp_path):
    path = tmp_path / "history.sqlite3"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from pathlib import Path
        from test_store import record
        from ratelimit_tui.core.store import HistoryStore
        store = HistoryStore(Path({str(path)!r}), batch_s=0.005)
        for i in range(400):
            store.add(record(i), "e", sys.argv[1])
        store.close(timeout=30)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, f"writer{n}"]) for n in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert count_rows(path) == 1200


@pytest.mark.parametrize("content, phrase", [
    (b"this is not a database, just some bytes" * 100, "not usable"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "not usable"),
])
def test_a_corrupt_file_is_reported_and_left_alone(tmp_path, content, phrase):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=phrase):
        store_at(path)
    assert path.read_bytes() == content


def test_a_foreign_database_is_left_alone(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        store_at(path)
    assert path.read_bytes() == before


def test_an_unwritable_place_is_reported(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(StoreError, match="cannot create"):
        store_at(blocker / "history.sqlite3")


def test_a_full_disk_keeps_rows_in_memory_and_recovers(tmp_path):
    path = tmp_path / "history.sqlite3"
    problems = []
    store = store_at(path, max_pages=12, on_error=problems.append)
    for i in range(400):
        store.add(record(i), "e", "k")
    deadline = time.monotonic() + 10
    while not problems and time.monotonic() < deadline:
        time.sleep(0.02)
    assert problems and "full" in problems[0]
    store._connection.execute("PRAGMA max_page_count = 1000000")  # space again
    store.add(record(400), "e", "k")
    store.close()
    assert "writing again" in problems[-1]
    assert count_rows(path) == 401  # nothing lost


def test_a_locked_file_is_reported_and_written_later(tmp_path):
    path = tmp_path / "history.sqlite3"
    store_at(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    problems = []
    store = store_at(path, busy_s=0.05, on_error=problems.append)
    store.add(record(1), "e", "k")
    deadline = time.monotonic() + 10
    while not problems and time.monotonic() < deadline:
        time.sleep(0.02)
    assert problems and "locked" in problems[0]
    holder.execute("COMMIT")
    holder.close()
    store.close()
    assert count_rows(path) == 1


def test_retention_prunes_old_rows(tmp_path):
    path = tmp_path / "history.sqlite3"
    store = store_at(path, retention_days=1)
    store.add(record(0, t=NOW - 3 * 86400), "e", "k")
    store.add(record(1), "e", "k")
    store.close()
    store_at(path, retention_days=1).close()  # prunes on start
    assert count_rows(path) == 1


def test_an_idle_writer_sleeps_until_the_next_prune(tmp_path, monkeypatch):
    """With nothing to write, the writer thread does not wake every few seconds (an idle
    dashboard's CPU): it waits for rows, or for the hourly prune."""
    waits, two = [], threading.Event()
    collect = HistoryStore._collect

    def watched(self, pending, wait_s):
        waits.append(wait_s)
        if len(waits) == 2:
            two.set()
        return collect(self, pending, wait_s)

    monkeypatch.setattr(HistoryStore, "_collect", watched)
    store = store_at(tmp_path / "history.sqlite3")
    assert two.wait(10)
    assert waits[0] == 0.04  # before the first prune: a short wait (batch_s * 4)
    assert waits[1] > 3500  # then until the next one, an hour on
    store.add(record(1), "e", "k")  # and a row is still written
    store.close()
    assert count_rows(tmp_path / "history.sqlite3") == 1


@pytest.fixture
def run_cli(run_main):
    """The CLI on a data directory of the test's, in this process (test_cli pipes a process's
    export into head)."""
    def run(*args, data_dir):
        return run_main(*args, env={"RATELIMIT_TUI_DATA_DIR": str(data_dir)})

    return run


@pytest.fixture
def filled(tmp_path):
    data = tmp_path / "data"
    store = store_at(data / "history.sqlite3")
    for i in range(10):
        store.add(record(i, remaining=60 - i, status=429 if i == 9 else 200),
                  "https://api.openai.com/v1", "fp")
    store.add(record(0, t=NOW - 7200), "https://api.openai.com/v1", "fp")  # two hours ago
    store.close()
    return data


def test_export_csv_json_jsonl_read_back(filled, run_cli):
    rows = list(csv.DictReader(io.StringIO(
        run_cli("export", "--since", "1h", data_dir=filled).stdout)))
    assert len(rows) == 10
    assert rows[0]["requests_remaining"] == "60" and rows[0]["tokens_limit"] == "1000"
    assert rows[0]["status"] == "200" and rows[0]["endpoint"] == "https://api.openai.com/v1"
    everything = json.loads(run_cli("export", "--format", "json", data_dir=filled).stdout)
    assert len(everything) == 11
    assert everything[-1]["buckets"]["requests"]["remaining"] == 51
    lines = run_cli("export", "--format", "jsonl", "--endpoint", "https://api.openai.com/v1",
                    data_dir=filled).stdout.splitlines()
    assert [json.loads(line)["request_id"] for line in lines][:2] == ["req_0", "req_0"]
    assert not run_cli("export", "--endpoint", "http://elsewhere/v1", data_dir=filled).stdout \
        .strip().count("\n")  # only the header row


def test_export_gives_a_call_s_times_to_a_tenth_of_a_millisecond(tmp_path, run_cli):
    data = tmp_path / "data"
    store = store_at(data / "history.sqlite3")
    store.add(dataclasses.replace(record(), latency_s=0.21796056600032898,
                                  ttfb_s=0.19658455300032074), "demo", "fp")
    store.add(dataclasses.replace(record(1), ttfb_s=None), "demo", "fp")
    store.close()
    rows = list(csv.DictReader(io.StringIO(run_cli("export", data_dir=data).stdout)))
    assert [(r["latency_ms"], r["ttfb_ms"]) for r in rows] == [("218.0", "196.6"),
                                                               ("250.0", "")]
    for fmt in ("json", "jsonl"):
        out = run_cli("export", "--format", fmt, data_dir=data).stdout
        calls = json.loads(out) if fmt == "json" else [json.loads(line) for line in
                                                      out.splitlines()]
        assert [(c["latency_ms"], c["ttfb_ms"]) for c in calls] == [(218.0, 196.6),
                                                                    (250.0, None)], fmt


def test_history_summary(filled, run_cli):
    out = run_cli("history", "--since", "1h", data_dir=filled).stdout
    assert "calls: 10 (10 chat) · 429s: 1" in out and "not ok: 1 rate limited" in out
    assert "requests 51 / 60" in out and "busiest minute" in out


def test_export_without_history_is_one_clear_line(tmp_path, run_cli):
    result = run_cli("export", data_dir=tmp_path / "empty")
    assert result.returncode == 1 and "no history yet" in result.stderr


def test_probe_is_stored(run_sim, tmp_path, run_main):
    sim = run_sim()
    env = {"RATELIMIT_TUI_DATA_DIR": str(tmp_path / "d"), "OPENAI_API_KEY": "sk-probe-test"}
    result = run_main("probe", "--base-url", sim.base_url, env=env)
    assert result.returncode == 0, result.stderr
    (call,) = read_calls(tmp_path / "d" / "history.sqlite3")
    assert call["kind"] == "probe" and call["endpoint"] == sim.base_url
    assert "sk-probe-test" not in (tmp_path / "d" / "history.sqlite3").read_bytes().decode(
        "latin-1")


def test_damaged_pages_are_reported_not_raised(tmp_path):
    path = tmp_path / "history.sqlite3"
    store = store_at(path)
    for i in range(2000):
        store.add(record(i), "e", "k")
    store.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[8192:] = b"\xa5" * (len(data) - 8192)  # every page after the schema's, scribbled on
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"could not be read|not usable"):
        load_recent(path, "e", "k", NOW)
    assert path.read_bytes() == bytes(data)


def test_a_value_sqlite_cannot_hold_drops_that_call_only(tmp_path):
    path = tmp_path / "history.sqlite3"
    problems = []
    store = store_at(path, on_error=problems.append)
    huge = dataclasses.replace(record(1), usage=Usage(10**30, 1, 10**30))
    store.add(record(0), "e", "k")
    store.add(huge, "e", "k")
    store.add(record(2), "e", "k")
    store.close()
    assert count_rows(path) == 2
    assert problems and "1 call not stored" in problems[0]


def test_two_dashboards_creating_the_same_new_file_both_work(tmp_path):
    from ratelimit_tui.core.store import connect

    errors = []
    for n in range(12):  # the race is narrow: try it often, each time on a new file
        path = tmp_path / f"new{n}.sqlite3"
        start = threading.Barrier(3)

        def open_it(path=path, start=start):
            start.wait()
            try:
                connect(path).close()
            except StoreError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []


def test_a_data_error_in_a_batch_costs_only_its_row_and_the_writer_goes_on(tmp_path):
    path = tmp_path / "history.sqlite3"
    problems = []
    store = store_at(path, on_error=problems.append)
    store.add(record(0), "e", "k")
    store.add(dataclasses.replace(record(1), model=None), "e", "k")  # NOT NULL: IntegrityError
    store.add(record(2), "e", "k")
    store.close()
    assert count_rows(path) == 2
    assert any("1 call not stored (IntegrityError" in p for p in problems)
    store = store_at(path, on_error=problems.append)  # and nothing is stuck for the next run
    store.add(record(3), "e", "k")
    store.close()
    assert count_rows(path) == 3


def test_the_queue_is_bounded_and_says_what_it_dropped(tmp_path, monkeypatch):
    entered, gate, caught_up = threading.Event(), threading.Event(), threading.Event()
    writes = []

    def stuck(self, rows):  # a unit seam: a writer stuck inside one write
        entered.set()
        gate.wait(10)
        writes.append(len(rows))
        if len(writes) == 2:  # the batch after the stuck one took what was queued
            caught_up.set()

    monkeypatch.setattr(HistoryStore, "_write", stuck)
    problems = []
    store = store_at(tmp_path / "history.sqlite3", on_error=problems.append, max_queued=3)
    store.add(record(0), "e", "k")
    assert entered.wait(10)
    for i in range(10):
        store.add(record(i), "e", "k")  # never blocks the caller
    assert problems == ["history: the writer is 3 calls behind; calls are not saved until it "
                        "catches up"]
    gate.set()
    assert caught_up.wait(10) and writes == [1, 3]
    store.add(record(99), "e", "k")
    assert problems[-1] == "history: 7 calls not saved while the writer was behind"
    store.close()


def test_the_writer_s_death_is_reported_and_later_calls_say_so(tmp_path, monkeypatch):
    def broken(self, pending, wait_s):
        raise RuntimeError("a bug")

    monkeypatch.setattr(HistoryStore, "_collect", broken)
    problems = []
    store = store_at(tmp_path / "history.sqlite3", on_error=problems.append)
    store._thread.join(10)
    assert problems == ["history: the writer stopped (RuntimeError: a bug); calls are no "
                        "longer saved"]
    store.add(record(1), "e", "k")
    store.close()
    assert len(problems) == 1  # said once, where the user looks


def test_export_and_history_take_a_configured_endpoint_s_name(filled, tmp_path, run_cli):
    (tmp_path / "config.toml").write_text(  # the isolated fixture points the CLI here
        '[endpoints.openai]\nprovider = "openai"\n[endpoints.groq]\nprovider = "groq"\n')
    lines = run_cli("export", "--format", "jsonl", "--since", "1h", "--endpoint", "openai",
                    data_dir=filled).stdout.splitlines()
    assert len(lines) == 10  # no key needed to read what was stored
    groq = run_cli("history", "--since", "1h", "--endpoint", "groq", data_dir=filled)
    assert "no calls in the last 1h" in groq.stdout
    openai = run_cli("history", "--since", "1h", "--endpoint", "openai", data_dir=filled)
    assert "calls: 10 (10 chat)" in openai.stdout


def test_a_name_not_configured_is_an_error_and_a_name_means_its_key_too(filled, tmp_path, run_cli,
                                                                         monkeypatch):
    (tmp_path / "config.toml").write_text(
        '[endpoints.mine]\nprovider = "openai"\napi_key_env = "MY_KEY"\n')
    typo = run_cli("history", "--endpoint", "mnie", data_dir=filled)
    assert typo.returncode == 1 and "no endpoint named 'mnie' (configured: mine)" in \
        typo.stderr
    monkeypatch.setenv("MY_KEY", "sk-someone-else")  # not the key of the stored calls
    other = run_cli("export", "--format", "jsonl", "--endpoint", "mine", data_dir=filled)
    assert other.returncode == 0 and other.stdout == ""  # another key's quota: none of these
