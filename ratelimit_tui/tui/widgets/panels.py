"""The status line, the event log's first entries and the last-response panel."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ratelimit_tui.core.events import ResponseObserved
from ratelimit_tui.core.format import compact_duration, countdown_text, plural
from ratelimit_tui.core.secret import Secret, redact_headers
from ratelimit_tui.core.status import Connection

STATE_COLOURS = {Connection.LIVE: "green", Connection.STALE: "yellow",
                 Connection.RETRYING: "yellow", Connection.ERROR: "red",
                 Connection.STARTING: "dim", Connection.UNCONFIRMED: "dim"}


class StatusLine(Static):
    """Endpoint, model, dialect, connection state, polling, a pending retry."""

    def __init__(self) -> None:
        super().__init__(id="status")
        self.shown = Text()
        self.said: tuple | None = None  # what the shown line was written from

    def show(self, *, endpoint: str, model: str, dialect: str | None, state: Connection,
             poll_s: float | None, retry_in: float | None, low: str | None = None) -> None:
        """`retry_in` is shown when the state is RETRYING; `low` names the binding limit
        while it is under the low-headroom alert."""
        retry = countdown_text(retry_in) if state == Connection.RETRYING and \
            retry_in is not None else None
        said = (endpoint, model, dialect, state, poll_s, retry, low)
        if said == self.said:  # the 1 Hz tick mostly says the same: nothing to write
            return
        self.said = said
        line = Text()
        line.append(" ratelimit-tui ", style="bold reverse")
        line.append(" ")  # the state first: at 60 columns the end of the line is cut off
        if retry is not None:
            line.append(f"● retrying in {retry} (Esc cancels)", style="bold yellow")
        else:
            line.append(f"● {state}", style=STATE_COLOURS.get(state, ""))
        if low:
            line.append(f"  ▼ {low}", style="bold red")
        for part in (endpoint, model, dialect or "no rate-limit headers yet",
                     f"poll {compact_duration(poll_s)}" if poll_s else "poll off"):
            line.append(" │ ", style="dim")
            line.append(part)
        self.shown = line
        self.update(line, layout=False)  # one row, whatever it says: no layout


class EventsSoFar:
    """The event log's entries until the log is made, right after the first frame (Textual's
    RichLog, and what it imports, cost the first frame about 4 % of its time): each with its
    time, for the log to show first."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.entries: list[tuple[float, str, str]] = []  # (when, text, style)
        self.display = True  # the log's, once made

    def add(self, text: str, style: str = "") -> None:
        self.entries.append((self.clock(), text, style))


MAX_SHOWN = 200  # header rows drawn: a hostile head may have thousands, no one reads them


class LastResponse(VerticalScroll):
    """Status, timings, request id, and the headers of the last response (the rate-limit ones
    first, at most MAX_SHOWN), the sensitive ones redacted."""

    def __init__(self, secrets: tuple[Secret, ...] = ()) -> None:
        super().__init__(id="last-response")
        self.border_title = "Last response (F2)"
        self.body = Static("No response yet.")
        self.secrets = secrets  # scrubbed from values too: the key, a URL's password

    def compose(self):
        yield self.body

    def clear(self) -> None:
        self.body.update("No response yet.")

    def show(self, observed: ResponseObserved, latency_s: float | None = None) -> None:
        from rich.table import Table

        snap = observed.snapshot
        summary = Text.assemble(
            (f"{snap.status} ", "bold"), f"{observed.kind} · attempt {observed.attempt} · ",
            f"headers after {observed.ttfb_s * 1000:.0f} ms",
            f" · total {latency_s * 1000:.0f} ms" if latency_s is not None else "",
            f"\nrequest {observed.request_id or 'n/a'}")
        table = Table(show_header=False, box=None, pad_edge=False, expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        pairs = sorted(observed.headers, key=lambda pair: not _about_limits(pair[0]))
        shown = redact_headers(pairs[:MAX_SHOWN], *self.secrets)  # the rate-limit ones first
        for name, value in shown:
            table.add_row(Text(name[:200]), Text(value[:2000]))  # data, never markup
        more = len(pairs) - len(shown)
        tail = Text(f"… and {plural(more, 'more header')}", style="dim") if more else Text()
        self.body.update(_stack(summary, Text(), table, tail))


def _about_limits(name: str) -> bool:
    name = name.lower()
    return "ratelimit" in name or name.startswith(("retry-after", "x-should-retry"))


def _stack(*renderables):
    from rich.table import Table

    grid = Table.grid(expand=True)
    for item in renderables:
        grid.add_row(item)
    return grid
