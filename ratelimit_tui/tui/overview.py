"""The overview of every endpoint: a compact row each with its binding limit, its countdown, a
sparkline of the last minutes, its state and its last 429. Keys 1-9, Tab and Enter, or a
click, open an endpoint's full view."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ratelimit_tui.core.format import count
from ratelimit_tui.core.history import QuotaHistory, downsample
from ratelimit_tui.core.status import Connection
from ratelimit_tui.tui.lean import LeanScreen
from ratelimit_tui.tui.session import EndpointSummary
from ratelimit_tui.tui.widgets.footer import Footer
from ratelimit_tui.tui.widgets.gauges import bucket_label, countdown, percent
from ratelimit_tui.tui.widgets.panels import STATE_COLOURS

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 16
SPARK_WINDOW_S = 300.0
SPARK_MIN_WIDTH = 70  # narrower, a row keeps its numbers whole and shows no sparkline


def sparkline(points: list[tuple[float, float]], now: float) -> str:
    """The binding share of the last five minutes, lowest per cell; blank where no data."""
    start = now - SPARK_WINDOW_S
    cells = [" "] * SPARK_WIDTH
    for t, share in downsample(points, start, now, SPARK_WIDTH):
        cell = min(SPARK_WIDTH - 1, int((t - start) / SPARK_WINDOW_S * SPARK_WIDTH))
        cells[cell] = SPARK[min(len(SPARK) - 1, int(share * len(SPARK)))]
    return "".join(cells)


class EndpointRow(Widget, can_focus=True):
    """Two lines: who it is and how it is; the limit that binds, and the last minutes of it.
    Redrawn only when what it says changed."""

    def __init__(self, number: int, name: str) -> None:
        super().__init__(classes="endpoint-row")
        self.number, self.endpoint = number, name
        self.lines = (Text(name), Text())
        self.spark = ""

    def show(self, summary: EndpointSummary, spark: str, now: float) -> None:
        lines = describe(self.number, summary, now)
        if (lines[0].plain, lines[1].plain, spark) != (self.lines[0].plain,
                                                       self.lines[1].plain, self.spark):
            self.lines, self.spark = lines, spark
            self.refresh()

    def render(self) -> Text:
        width = max(20, self.size.width)
        head, line = self.lines[0].copy(), self.lines[1].copy()
        head.truncate(width, overflow="ellipsis")
        if width < SPARK_MIN_WIDTH:  # the numbers come first
            line.truncate(width, overflow="ellipsis")
            return Text("\n").join([head, line])
        room = width - SPARK_WIDTH - 1
        line.truncate(room, overflow="ellipsis")
        line.append(" " * (room - line.cell_len + 1))
        line.append(self.spark, style="cyan")
        return Text("\n").join([head, line])

    def on_click(self) -> None:
        self.post_message(OverviewScreen.Chosen(self.endpoint))


def describe(number: int, summary: EndpointSummary, now: float) -> tuple[Text, Text]:
    head = Text()
    head.append(f"{number} " if number <= 9 else "  ", style="bold")
    head.append(summary.name, style="bold")
    head.append(f"  ● {summary.state}", style=STATE_COLOURS.get(summary.state, ""))
    head.append(f"  {summary.host}", style="dim")
    if summary.last_throttle_at is not None:  # a time, not an age: no tick to keep true
        at = time.strftime("%H:%M:%S", time.localtime(summary.last_throttle_at))
        head.append(f"  last 429 at {at}", style="yellow")
    line = Text("  ")
    binding = summary.binding
    if binding is None:
        line.append("no numbers: its calls fail" if summary.state == Connection.ERROR
                    else "no rate-limit numbers yet", style="dim")
        return head, line
    shown, projected = binding.shown_remaining(now)
    share = binding.shown_share(now)
    line.append(f"{bucket_label(binding)} ")
    line.append(f"{'~' if projected else ''}{count(shown)} / {count(binding.bucket.limit)}",
                style="bold")
    if share is not None:
        line.append(f" {percent(share)}")
    line.append(f"  {countdown(binding, now)}", style="dim")
    return head, line


class Rows(VerticalScroll, can_focus=False):
    """Scrolled by focusing its rows (Tab), never focused itself."""


class OverviewScreen(LeanScreen):
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("escape", "back", "Back"),
        Binding("f6", "app.compare", "Compare"),
        *(Binding(str(n), f"choose({n})", show=False) for n in range(1, 10)),
    ]

    class Chosen(Message):
        def __init__(self, endpoint: str) -> None:
            super().__init__()
            self.endpoint = endpoint

    def __init__(self, names: list[str], current: str) -> None:
        super().__init__(id="overview")
        self.names, self.current = names, current
        self.rows = [EndpointRow(n, name) for n, name in enumerate(names, 1)]

    def compose(self) -> ComposeResult:
        yield Static(" ratelimit-tui · every endpoint · 1-9, or Tab and Enter: open",
                     id="overview-title")
        with Rows(id="overview-rows"):
            yield from self.rows
        yield Footer()

    def on_mount(self) -> None:
        self.rows[self.names.index(self.current)].focus()  # Enter goes back where it was

    def show(self, summaries: list[EndpointSummary], compare: QuotaHistory,
             now: float) -> None:
        shares = compare.series(SPARK_WINDOW_S, now)  # every endpoint's, read once a redraw
        for row, summary in zip(self.rows, summaries, strict=True):
            row.show(summary, sparkline(shares.get(summary.name, []), now), now)

    def action_choose(self, number: int) -> None:
        if number <= len(self.names):
            self.post_message(self.Chosen(self.names[number - 1]))

    def action_open(self) -> None:
        if isinstance(self.focused, EndpointRow):
            self.post_message(self.Chosen(self.focused.endpoint))

    def action_back(self) -> None:
        self.app.pop_screen()
