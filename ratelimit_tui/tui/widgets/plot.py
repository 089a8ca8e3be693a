"""The history plot: share of each limit left over time, 429s marked, a switchable window.

plotext is imported after the first frame (it costs more than the rest of the screen). The
plot's window ends now: it is rebuilt when the history changed, the window changed, the widget
was resized, or time moved by one column's worth (a timer, running only while it is shown).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import Container
from textual.timer import Timer
from textual.widgets import Static

from ratelimit_tui.core.format import clock_ticks
from ratelimit_tui.core.history import WINDOWS, Frame, QuotaHistory, frame

WINDOW_NAMES = {300.0: "5 min", 3600.0: "1 h", 86400.0: "24 h"}
TICK_STEPS = {300.0: 60.0, 3600.0: 900.0, 86400.0: 21600.0}  # four or five ticks a window
COLOURS = {"requests": "cyan", "tokens": "green"}  # as their gauges; 429s are red
OTHER_COLOURS = ("magenta", "blue", "yellow", "orange")


class HistoryPlot(Container):
    def __init__(self, history: QuotaHistory, clock: Callable[[], float]) -> None:
        super().__init__(id="plot")
        self.history = history
        self.clock = clock
        self.window = 300.0
        self._plot = None  # the PlotCanvas, once loaded
        self._drawn: tuple | None = None  # what it shows: (version, window, size, column)
        self._follow: Timer | None = None  # the next redraw as time moves on
        self.frame: Frame | None = None  # what is drawn
        self.poll_s: float | None = None  # points come at least this often while polling
        self._colours: dict[str, str] = {}
        self.subject = ""  # what the lines are, when not the buckets of one endpoint
        self._title()

    def compose(self):
        yield Static("loading the plot...", id="plot-loading")

    @property
    def window_name(self) -> str:
        return WINDOW_NAMES[self.window]

    def _title(self) -> None:
        self.border_title = f"History · {self.window_name} (F3){self.subject}"

    def load(self) -> None:
        """Mount the plotext widget; called once the first frame is on screen."""
        if self._plot is not None:
            return
        from ratelimit_tui.tui.widgets.canvas import PlotCanvas

        self._plot = PlotCanvas()
        self.query_one("#plot-loading").remove()
        self.mount(self._plot)
        self.call_after_refresh(self.redraw)

    def show(self, history: QuotaHistory, subject: str = "") -> None:
        """Draw another history: another endpoint's, or every endpoint's binding share."""
        self.history, self.subject = history, subject
        self._drawn = None
        self._colours.clear()
        self._title()
        self.redraw()

    def cycle_window(self) -> None:
        windows = list(WINDOWS)
        self.set_window(windows[(windows.index(self.window) + 1) % len(windows)])

    def set_window(self, window: float) -> None:
        self.window = window
        self._title()
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Set the figure's data and build it, if anything it shows changed (the build is
        the costly part, which benchmarks/bench_tui.py measures); the canvas repaints the
        rows that changed."""
        plot = self._plot
        if plot is None or not self.display or not plot.size.area:
            return  # hidden: no timer either, until a resize shows it again
        now = self.clock()
        bins = max(10, plot.size.width - 8)  # about one point per column of the plot area
        column_s = self.window / bins
        key = (self.history.version, self.window, plot.size, int(now // column_s))
        if self._follow is not None:
            self._follow.stop()
        self._follow = self.set_timer(column_s - now % column_s + 0.01, self.redraw)
        if key == self._drawn:
            return
        # The figure ends where the current column does: what is drawn depends on the column,
        # not on the instant within it, so that a redraw later in the column changes nothing.
        now = (key[-1] + 1) * column_s
        plt = plot.plt
        plt.clear_data()  # and every setting below is set again: clear_figure, which built a
        # new figure (a deep copy of plotext's defaults), cost a sixth of the redraw
        self.frame = drawn = frame(self.history, self.window, now, bins, self.poll_s)
        for bucket_id, runs in drawn.runs.items():
            colour = COLOURS.get(bucket_id) or self._colours.setdefault(
                bucket_id, OTHER_COLOURS[len(self._colours) % len(OTHER_COLOURS)])
            for number, run in enumerate(runs):
                plt.plot([t for t, _ in run], [f * 100 for _, f in run], marker="braille",
                         color=colour, label=bucket_id if number == 0 else "")
        if drawn.throttles:
            plt.scatter(drawn.throttles, [0] * len(drawn.throttles), marker="x", color="red",
                        label="429")
        plt.ylim(0, 100)
        plt.yticks([0, 50, 100], ["0%", "50%", "100%"])
        plt.xlim(drawn.start, now)
        # Round times, each where it is, up to the current column's start: the axis names no
        # time still to come (the last column, which holds now, ends up to a column later)
        ticks = clock_ticks(drawn.start, now - column_s, TICK_STEPS[self.window])
        plt.xticks([t for t, _ in ticks], [label for _, label in ticks])
        plt.title(None if drawn.runs else "no rate-limit data yet")
        plot.draw()
        self._drawn = key
