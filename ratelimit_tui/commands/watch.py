"""`ratelimit-tui watch`: the dashboard's polling without the dashboard, for every endpoint.

Each endpoint polls on its own schedule with the minimal call (QuotaClient.poll_forever: never
overlapping, never sooner than a retry-after), so a slow or failing one holds up no other.
Every call goes into the history; the book behind /metrics sees every response; one line per
poll goes to stdout for a terminal or a journal."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass

from ratelimit_tui.config import Settings, endpoint_of, history_endpoint
from ratelimit_tui.core.endpoint import CREDENTIALS_NOTE
from ratelimit_tui.core.events import CallRecord
from ratelimit_tui.core.format import call_line, compact_duration
from ratelimit_tui.metrics.book import MetricsBook

WATCH_POLL_S = 60.0  # an endpoint that sets no poll: a minimal call a minute


def interval_of(settings: Settings) -> float:
    return settings.poll_s or WATCH_POLL_S


@dataclass
class Printer:
    """The per-poll lines. A reader that went away (`| head`) ends the watch, quietly."""

    quiet: bool
    on_gone: Callable[[], None]
    clock: Callable[[], float] = time.time
    gone: bool = False

    def say(self, text: str, stream=None) -> None:
        if self.gone:
            return
        try:
            print(text, file=stream or sys.stdout, flush=True)
        except BrokenPipeError:
            self.gone = True
            self.on_gone()

    def poll(self, name: str, record: CallRecord) -> None:
        if not self.quiet:
            at = time.strftime("%H:%M:%S", time.localtime(self.clock()))
            self.say(f"{at} {name} {call_line(record)}")


def run(endpoints: list[Settings], listen: tuple[str, int] | None, quiet: bool) -> int:
    from ratelimit_tui.core.endpoint import is_loopback
    from ratelimit_tui.metrics.server import MetricsServer

    book = MetricsBook()
    with ExitStack() as stack:
        if listen is not None:
            try:
                server = MetricsServer(book, time.time, *listen)
            except OSError as exc:
                print(f"ratelimit-tui watch: cannot listen on {listen[0]}:{listen[1]} "
                      f"({exc.strerror or exc}); pass --listen HOST:PORT, with port 0 for any "
                      "free one", file=sys.stderr)
                return 2
            stack.callback(server.close)
            print(f"Serving metrics on {server.url}", flush=True)
            if not is_loopback(listen[0]):
                print(f"ratelimit-tui watch: {listen[0]} is not loopback: whoever reaches this "
                      "machine can read the quota (never the keys)", file=sys.stderr)
        base_urls = {s.name: s.base_url for s in endpoints}
        if any(s.demo for s in endpoints):
            from ratelimit_tui.sim.embedded import EmbeddedSimulator
            from ratelimit_tui.sim.server import demo_config

            sim = stack.enter_context(EmbeddedSimulator(demo_config()))
            base_urls.update({s.name: sim.base_url for s in endpoints if s.demo})
        store = _open_store(endpoints[0])
        if store is not None:
            stack.callback(store.close)  # commits what is queued
        asyncio.run(_until_stopped(endpoints, base_urls, book, store, quiet))
    return 0


def _open_store(settings: Settings):
    from ratelimit_tui.core.store import HistoryStore, StoreError
    from ratelimit_tui.locations import history_db

    if not settings.history:
        return None

    def complain(message: str) -> None:
        print(f"ratelimit-tui watch: {message}", file=sys.stderr, flush=True)

    try:
        return HistoryStore(history_db(), on_error=complain,
                            retention_days=settings.retention_days)
    except StoreError as exc:
        complain(f"history not kept: {exc}")
        return None


async def _until_stopped(endpoints: list[Settings], base_urls: dict[str, str | None],
                         book: MetricsBook, store, quiet: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await watch(endpoints, base_urls, book, store, Printer(quiet, stop.set), stop)


async def watch(endpoints: list[Settings], base_urls: dict[str, str | None], book: MetricsBook,
                store, printer: Printer, stop: asyncio.Event, *,
                clock: Callable[[], float] = time.time,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Poll every endpoint until `stop` is set, then close every client."""
    from ratelimit_tui.core.client import QuotaClient

    clients, tasks = [], []
    for settings in endpoints:
        endpoint = endpoint_of(settings, base_urls[settings.name])
        book.add_endpoint(settings.name, settings.key_fingerprint())
        if endpoint.credentials_removed:
            printer.say(f"ratelimit-tui watch: {settings.name}: {CREDENTIALS_NOTE}", sys.stderr)
        client = QuotaClient(endpoint, settings.model, settings.probe_model,
                             on_event=lambda event, name=settings.name: book.observe(name, event),
                             clock=clock, sleep=sleep)
        clients.append(client)

        def recorded(record: CallRecord, settings: Settings = settings) -> None:
            if store is not None:
                store.add(record, history_endpoint(settings), settings.key_fingerprint())
            printer.poll(settings.name, record)

        task = asyncio.create_task(client.poll_forever(interval_of(settings), recorded))
        task.add_done_callback(
            lambda done, name=settings.name: _died(done, name, printer, book))
        tasks.append(task)
        where = "the built-in simulator" if settings.demo else endpoint.host
        printer.say(f"watching {settings.name} ({where}, {settings.probe_model or settings.model})"
                    f" every {compact_duration(interval_of(settings))}", sys.stderr)
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.aclose()


def _died(task: asyncio.Task, name: str, printer: Printer, book: MetricsBook) -> None:
    """A poller ends only when cancelled; anything else is a bug worth one line (its type
    only: the text of an unknown error may quote a key), an endpoint marked down so that an
    alert fires, and the other endpoints go on."""
    if not task.cancelled() and task.exception() is not None:
        book.down(name)
        printer.say(f"ratelimit-tui watch: {name} stopped polling after an unexpected "
                    f"{type(task.exception()).__name__}; ratelimit_up is 0", sys.stderr)
