"""The SQLite history: every call with its rate-limit snapshot, per endpoint and key fingerprint.

Writes go through a queue to one writer thread that commits in batches (never on the UI's event
loop). WAL journal: a killed process loses no committed row, and two dashboards share the file.
A file that is not ours, or that cannot be opened or written, is reported and never overwritten;
the caller keeps running on its in-memory history.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratelimit_tui.core.endpoint import public_url
from ratelimit_tui.core.events import CallRecord
from ratelimit_tui.core.history import WINDOWS, QuotaHistory

APPLICATION_ID = 0x524C5455  # "RLTU": marks the file as ours
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    endpoint TEXT NOT NULL,
    key_fp TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    attempts INTEGER NOT NULL,
    throttled INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    ttfb_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    request_id TEXT,
    retry_after_s REAL,
    dialect TEXT,
    buckets TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_endpoint ON calls (endpoint, key_fp, t);
CREATE INDEX IF NOT EXISTS calls_by_time ON calls (t);
CREATE TABLE IF NOT EXISTS points (
    t REAL NOT NULL,
    endpoint TEXT NOT NULL,
    key_fp TEXT NOT NULL,
    bucket TEXT NOT NULL,
    fraction REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS points_by_endpoint ON points (endpoint, key_fp, t);
"""
COLUMNS = ("t", "endpoint", "key_fp", "kind", "model", "outcome", "status", "attempts",
           "throttled", "latency_ms", "ttfb_ms", "prompt_tokens", "completion_tokens",
           "total_tokens", "request_id", "retry_after_s", "dialect", "buckets")
_STOP = object()
MAX_PENDING = 50_000  # rows held while the disk refuses them; beyond, the oldest are dropped


class StoreError(Exception):
    """The history file cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Row:
    values: tuple[Any, ...]  # in COLUMNS order
    points: tuple[tuple[float, str, float], ...]  # when the headers came, bucket id, share left


def row_of(record: CallRecord, endpoint: str, key_fp: str) -> Row:
    snap = record.snapshot
    buckets = [] if snap is None else [
        {"id": b.id, "metric": b.metric, "scope": b.scope, "window_s": b.window_s,
         "limit": b.limit, "remaining": b.remaining, "reset_s": b.reset_in_s}
        for b in snap.buckets]
    usage = record.usage
    values = (
        record.started_at, endpoint, key_fp, record.kind, record.model, record.outcome,
        record.status, record.attempts, record.throttled, record.latency_s * 1000,
        None if record.ttfb_s is None else record.ttfb_s * 1000,
        usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None,
        usage.total_tokens if usage else None, record.request_id,
        snap.retry_after_s if snap else None, snap.dialect if snap else None,
        json.dumps(buckets))
    points = () if snap is None else tuple(
        (snap.received_at, b.id, b.fraction) for b in snap.buckets if b.fraction is not None)
    return Row(values, points)


def connect(path: Path, busy_s: float = 5.0) -> sqlite3.Connection:
    """Open an existing or new history file; StoreError if it is not ours or not usable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private from birth
        connection = sqlite3.connect(path, timeout=busy_s, check_same_thread=False)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        owner = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if owner != APPLICATION_ID and tables:
            raise StoreError(f"{path} belongs to another program (tables: "
                             f"{', '.join(sorted(tables))}); it was left untouched")
        if owner == APPLICATION_ID:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{path} was written by a newer ratelimit-tui "
                                 f"(schema {version}); it was left untouched")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable across crashes
        if owner != APPLICATION_ID:
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{path} is not usable as a history ({exc}); it was left "
                         "untouched") from None
    except StoreError:
        connection.close()
        raise
    return connection


class HistoryStore:
    """Batched, off-thread writes. `on_error(message)` is called from the writer thread with
    one line when writing fails (and again when it recovers)."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None,
                 retention_days: float = 7.0, batch_s: float = 0.5, busy_s: float = 5.0,
                 max_pages: int | None = None) -> None:
        self.path = path
        self.retention_s = retention_days * 86400
        self.batch_s = batch_s
        self._on_error = on_error
        self._queue: queue.Queue = queue.Queue()
        self._connection = connect(path, busy_s)
        if max_pages:  # tests: a disk that fills up
            self._connection.execute(f"PRAGMA max_page_count = {max_pages}")
        self._thread = threading.Thread(target=self._write_loop, name="history-writer",
                                        daemon=True)
        self._thread.start()

    def add(self, record: CallRecord, endpoint: str, key_fp: str) -> None:
        self._queue.put(row_of(record, endpoint, key_fp))

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _write_loop(self) -> None:
        pending: list[Row] = []
        failing = False
        next_prune = 0.0
        while True:
            stop = self._collect(pending)
            if pending:
                try:
                    self._write(pending)
                    pending.clear()
                    if failing:
                        failing = False
                        self._report("history: writing again")
                except sqlite3.Error as exc:  # the file: full, locked... retried later
                    if not failing:
                        self._report(f"history: cannot write {self.path.name} ({exc}); "
                                     "calls are kept in memory and retried")
                    failing = True
                    del pending[:-MAX_PENDING]
                except Exception as exc:  # the data: a value SQLite cannot hold
                    self._write_each(pending, exc)
                    pending.clear()
            if time.monotonic() >= next_prune and not failing:
                next_prune = time.monotonic() + 3600
                self._prune()
            if stop:
                break
        self._connection.close()

    def _collect(self, pending: list[Row]) -> bool:
        """Wait for rows; then gather what else arrives within batch_s. True on close."""
        try:
            item = self._queue.get(timeout=self.batch_s * 4)
        except queue.Empty:
            return False
        deadline = time.monotonic() + self.batch_s
        while True:
            if item is _STOP:
                return True
            pending.append(item)
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False

    def _write(self, rows: list[Row]) -> None:
        with self._connection:  # one transaction per batch
            self._connection.executemany(
                f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('?' * len(COLUMNS))})", [r.values for r in rows])
            self._connection.executemany(
                "INSERT INTO points (t, endpoint, key_fp, bucket, fraction) VALUES (?,?,?,?,?)",
                [(t, r.values[1], r.values[2], bucket, fraction)
                 for r in rows for t, bucket, fraction in r.points])

    def _write_each(self, rows: list[Row], problem: Exception) -> None:
        """Write the rows one by one, dropping (and reporting) those that cannot be stored."""
        dropped = 0
        for row in rows:
            try:
                self._write([row])
            except sqlite3.Error:
                raise
            except Exception:
                dropped += 1
        self._report(f"history: {dropped} call(s) not stored ({type(problem).__name__}: "
                     f"{problem})")

    def _prune(self) -> None:
        cutoff = time.time() - self.retention_s
        try:
            with self._connection:
                self._connection.execute("DELETE FROM calls WHERE t < ?", (cutoff,))
                self._connection.execute("DELETE FROM points WHERE t < ?", (cutoff,))
        except sqlite3.Error as exc:
            self._report(f"history: pruning failed ({exc})")

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            self._on_error(message)


# --- reading ---------------------------------------------------------------------------------

def load_recent(path: Path, endpoint: str, key_fp: str, now: float) -> QuotaHistory:
    """The plot's history of one endpoint and key, read as each window's slots (at most a few
    hundred rows per bucket, however many calls are stored)."""
    history = QuotaHistory()
    connection = connect(path)
    try:
        _fill(connection, history, endpoint, key_fp, now)
    except sqlite3.Error as exc:  # damaged pages show only when read
        raise StoreError(f"{path} could not be read ({exc}); it was left untouched") from None
    finally:
        connection.close()
    return history


def _fill(connection: sqlite3.Connection, history: QuotaHistory, endpoint: str, key_fp: str,
          now: float) -> None:
    spans = sorted(WINDOWS.items(), reverse=True)  # coarse and old first, fine and new last
    edges = [now - window for window, _ in spans] + [now + 1]
    for (_, slot), start, end in zip(spans, edges, edges[1:], strict=False):
        rows = connection.execute(
            "SELECT bucket, CAST(t / ? AS INTEGER) AS s, MIN(fraction) FROM points "
            "WHERE endpoint = ? AND key_fp = ? AND t >= ? AND t < ? "
            "GROUP BY bucket, s ORDER BY s", (slot, endpoint, key_fp, start, end))
        for bucket, index, fraction in rows:
            history.add(index * slot, bucket, fraction)
    for (t,) in connection.execute(
            "SELECT t FROM calls WHERE endpoint = ? AND key_fp = ? AND t >= ? AND "
            "(status = 429 OR throttled > 0) ORDER BY t",
            (endpoint, key_fp, now - max(WINDOWS))):
        history.add_throttle(t)


def read_calls(path: Path, since: float | None = None,
               endpoint: str | None = None) -> Iterator[dict[str, Any]]:
    connection = connect(path)
    connection.row_factory = sqlite3.Row
    query = f"SELECT {', '.join(COLUMNS)} FROM calls WHERE t >= ?"
    args: list[Any] = [since or 0.0]
    if endpoint:
        query += " AND endpoint = ?"
        args.append(public_url(endpoint))
    try:
        for row in connection.execute(query + " ORDER BY t", args):
            record = dict(row)
            record["buckets"] = json.loads(record["buckets"])
            yield record
    except (sqlite3.Error, ValueError) as exc:
        raise StoreError(f"{path} could not be read ({exc})") from None
    finally:
        connection.close()
