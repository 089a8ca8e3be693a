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

from ratelimit_tui.core.endpoint import host_of, public_url
from ratelimit_tui.core.events import CallRecord
from ratelimit_tui.core.format import plural
from ratelimit_tui.core.history import WINDOWS, QuotaHistory
from ratelimit_tui.core.model import RateLimitSnapshot
from ratelimit_tui.core.remembered import FILE_NAME, remember

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
MAX_QUEUED = 10_000  # rows waiting for the writer; beyond, new calls are refused and counted
PRUNE_EVERY_S = 3600.0  # rows past the retention are deleted this often


class StoreError(Exception):
    """The history file cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Row:
    values: tuple[Any, ...]  # in COLUMNS order
    points: tuple[tuple[float, str, float], ...]  # when the headers came, bucket id, share left
    snapshot: RateLimitSnapshot | None = None  # to remember, when it said something of limits


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
    return Row(values, points, snap if snap is not None and snap.buckets else None)


def connect(path: Path, busy_s: float = 5.0) -> sqlite3.Connection:
    """Open an existing or new history file; StoreError if it is not ours or not usable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private from birth
        connection = sqlite3.connect(path, timeout=busy_s, check_same_thread=False,
                                     isolation_level=None)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        connection.execute("BEGIN")  # the two reads of the check see one state of the file
        try:
            ours = _check_owner(connection, path)  # before any write: a foreign file stays as is
        finally:
            connection.execute("COMMIT")
        if not ours:
            _create_schema(connection, path)
        _use_wal(connection, busy_s)
        connection.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable across crashes
        connection.isolation_level = "DEFERRED"  # from now on, `with connection` is a transaction
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{path} is not usable as a history ({exc}); it was left "
                         "untouched") from None
    except StoreError:
        connection.close()
        raise
    return connection


def _use_wal(connection: sqlite3.Connection, busy_s: float) -> None:
    """WAL, once per file (it persists). Switching needs the file to itself for a moment, and
    SQLite does not wait for that: wait here, as long as for any other lock."""
    deadline = time.monotonic() + busy_s
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    while mode != "wal":
        try:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
        if mode == "wal":
            return
        if time.monotonic() > deadline:
            return  # a file system without WAL: the file keeps working in its own mode
        time.sleep(0.01)  # another opener reads the file right now


def _create_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Two dashboards may create the same new file at once: the one that takes the write
    lock first creates the schema, the other then finds it made, and marked as ours."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if not _check_owner(connection, path):
            for statement in filter(str.strip, SCHEMA.split(";")):
                connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _check_owner(connection: sqlite3.Connection, path: Path) -> bool:
    """True if the file is ours, False if it is empty; StoreError if it is someone else's."""
    owner = connection.execute("PRAGMA application_id").fetchone()[0]
    if owner == APPLICATION_ID:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} was written by a newer ratelimit-tui (schema {version}); "
                             "it was left untouched")
        return True
    tables = {r[0] for r in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables:
        raise StoreError(f"{path} belongs to another program (tables: "
                         f"{', '.join(sorted(tables))}); it was left untouched")
    return False


class HistoryStore:
    """Batched, off-thread writes. `on_error(message)` gets one line for every problem: from
    the writer thread when writing fails (and again when it recovers), from the caller's
    thread when the queue is full or the writer has stopped. No failure is silent."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None,
                 retention_days: float = 7.0, batch_s: float = 0.5, busy_s: float = 5.0,
                 max_pages: int | None = None, max_queued: int = MAX_QUEUED) -> None:
        self.path = path
        self.latest_path = path.with_name(FILE_NAME)
        self._memory_failed = False  # said once: the remembered snapshots are only a cache
        self.retention_s = retention_days * 86400
        self.batch_s = batch_s
        self._on_error = on_error
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self._dropped = 0  # calls refused since the last report, with the queue full
        self._stopped_reported = False
        self._connection = connect(path, busy_s)
        if max_pages:  # tests: a disk that fills up
            self._connection.execute(f"PRAGMA max_page_count = {max_pages}")
        self._thread = threading.Thread(target=self._write_loop, name="history-writer",
                                        daemon=True)
        self._thread.start()

    def add(self, record: CallRecord, endpoint: str, key_fp: str) -> None:
        """Queue one call; never blocks the caller (the UI)."""
        if not self._thread.is_alive():
            if not self._stopped_reported:
                self._stopped_reported = True
                self._report("history: the writer has stopped; calls are no longer saved")
            return
        try:
            self._queue.put_nowait(row_of(record, endpoint, key_fp))
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                self._report(f"history: the writer is {self._queue.maxsize:,} calls behind; "
                             "calls are not saved until it catches up")
        else:
            if self._dropped:
                self._report(f"history: {plural(self._dropped, 'call')} not saved while the "
                             "writer was behind")
                self._dropped = 0

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        try:
            if self._thread.is_alive():
                self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            self._report("history: the writer did not catch up before closing; the calls "
                         "still queued are not saved")
        self._thread.join(timeout)

    def _write_loop(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # a bug, not the disk: say so where the user looks
            self._stopped_reported = True
            self._report(f"history: the writer stopped ({type(exc).__name__}: {exc}); calls "
                         "are no longer saved")
        finally:
            self._connection.close()

    def _serve(self) -> None:
        pending: list[Row] = []
        failing = False
        next_prune = 0.0  # after the first batch, or a short wait; then hourly
        while True:
            # Asleep until rows come, or the next prune is due; with rows the disk refused,
            # or before the first prune, for a short wait. An idle dashboard does not wake
            # this thread.
            short = pending or not next_prune
            wait_s = self.batch_s * 4 if short else max(0.0, next_prune - time.monotonic())
            stop = self._collect(pending, wait_s)
            if pending:
                try:
                    self._write_rows(pending)
                    if failing:
                        failing = False
                        self._report("history: writing again")
                except sqlite3.OperationalError as exc:  # the file: full, locked, I/O
                    if not failing:
                        self._report(f"history: cannot write {self.path.name} ({exc}); "
                                     "calls are kept in memory and retried")
                    failing = True
                    if len(pending) > MAX_PENDING:
                        lost = len(pending) - MAX_PENDING
                        del pending[:lost]
                        self._report(f"history: {plural(lost, 'call')} dropped, the oldest, "
                                     f"to keep at most {MAX_PENDING:,} in memory")
            if time.monotonic() >= next_prune and not failing:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                self._prune()
            if stop:
                return

    def _collect(self, pending: list[Row], wait_s: float) -> bool:
        """Wait up to wait_s for rows; then gather what else arrives within batch_s. True on
        close."""
        try:
            item = self._queue.get(timeout=wait_s)
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

    def _write_rows(self, rows: list[Row]) -> None:
        """Write the batch in one transaction; if one row cannot be stored (a value SQLite
        cannot hold), write the others one by one and report the ones dropped. Clears `rows`
        as they are written; an OperationalError (the file, not the data) leaves the rest."""
        try:
            self._write(rows)
            rows.clear()
            return
        except sqlite3.OperationalError:
            raise
        except Exception as exc:  # the data, not the file: find the row(s) at fault
            problem = exc
        dropped = 0
        try:
            while rows:
                try:
                    self._write(rows[:1])
                except sqlite3.OperationalError:
                    raise  # the file now: the rest stay pending
                except Exception:
                    dropped += 1
                del rows[0]
        finally:
            if dropped:
                self._report(f"history: {plural(dropped, 'call')} not stored "
                             f"({type(problem).__name__}: {problem})")

    def _write(self, rows: list[Row]) -> None:
        with self._connection:  # one transaction per batch
            self._connection.executemany(
                f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('?' * len(COLUMNS))})", [r.values for r in rows])
            self._connection.executemany(
                "INSERT INTO points (t, endpoint, key_fp, bucket, fraction) VALUES (?,?,?,?,?)",
                [(t, r.values[1], r.values[2], bucket, fraction)
                 for r in rows for t, bucket, fraction in r.points])
        self._remember(rows)

    def _remember(self, rows: list[Row]) -> None:
        """Each endpoint's latest snapshot, for the next dashboard's first frame."""
        latest = {(r.values[1], r.values[2]): r.snapshot for r in rows if r.snapshot}
        if not latest:
            return
        try:
            remember(self.latest_path, latest)
        except OSError as exc:
            if not self._memory_failed:
                self._memory_failed = True
                self._report(f"history: {self.latest_path} not written ({exc.strerror or exc})"
                             "; the next start waits for a response to show numbers")

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


def matches_endpoint(stored: str, wanted: str) -> bool:
    """`wanted` as a user types it: a URL, host[:port] as the status line shows it, or 'demo'."""
    if "://" in wanted:
        return stored == public_url(wanted)
    return stored == wanted or host_of(stored) == wanted.rstrip("/")


def read_calls(path: Path, since: float | None = None, endpoint: str | None = None,
               key_fp: str | None = None) -> Iterator[dict[str, Any]]:
    connection = connect(path)
    connection.row_factory = sqlite3.Row
    query = f"SELECT {', '.join(COLUMNS)} FROM calls WHERE t >= ?"
    args: list[Any] = [since or 0.0]
    try:
        if endpoint:
            stored = [row[0] for row in connection.execute("SELECT DISTINCT endpoint FROM calls")]
            chosen = [e for e in stored if matches_endpoint(e, endpoint)]
            query += f" AND endpoint IN ({', '.join('?' * len(chosen))})"
            args += chosen
        if key_fp:
            query += " AND key_fp = ?"
            args.append(key_fp)
        for row in connection.execute(query + " ORDER BY t", args):
            record = dict(row)
            record["buckets"] = json.loads(record["buckets"])
            yield record
    except (sqlite3.Error, ValueError) as exc:
        raise StoreError(f"{path} could not be read ({exc})") from None
    finally:
        connection.close()
