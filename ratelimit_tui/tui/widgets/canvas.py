"""The plot's canvas: textual-plotext's widget, painted row by row.

A redraw as the plot follows the clock moves a point or two and the time axis; the rest of
plotext's drawing (mostly empty canvas) is the same. Converting the whole drawing from
plotext's ANSI text to strips at each redraw cost more than building it, so each row is
converted once for as long as it is shown, and only the rows that changed are repainted.
Imported after the first frame, with plotext.
"""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual_plotext import PlotextPlot

from ratelimit_tui.tui.widgets.lines import line_strip, refresh_changed


class PlotCanvas(PlotextPlot):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []  # plotext's drawing, a row of text (with its colours) each
        self._drawn_for: tuple | None = None  # (size, theme) of that drawing
        self._strips: dict[str, Strip] = {}  # the rows shown, converted, by their text

    def draw(self) -> None:
        """Build the figure now; repaint only its rows that changed. Under another screen
        (the overview, a modal), nothing is built until it is painted again."""
        if self.app.screen is not self.screen:
            self._drawn_for = None  # built at its next paint, with the data set by then
            self.refresh()
            return
        rows = self._build()
        if self._drawn_for != self._drawing_key() or len(rows) != len(self.rows):
            self._keep(rows, anew=True)
            self.refresh()
            return
        refresh_changed(self, self.rows, rows)
        self._keep(rows)

    def render_line(self, y: int) -> Strip:
        if self._drawn_for != self._drawing_key():  # resized, or another theme
            self._keep(self._build(), anew=True)
        row = self.rows[y] if y < len(self.rows) else ""
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = line_strip(self, Text.from_ansi(row), self.size.width)
        return strip

    def _drawing_key(self) -> tuple:
        return self.size, self.app.theme

    def _build(self) -> list[str]:
        """plotext's drawing at this size and theme (what PlotextPlot.render builds)."""
        width, height = self.size
        self.plt.plotsize(width, height)
        self.plt._set_size(width, height)  # as PlotextPlot.render: plotsize alone is not enough
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        return self.plt.build().split("\n")

    def _keep(self, rows: list[str], anew: bool = False) -> None:
        """Show these rows; keep the strips of those already converted, unless the size or
        the theme (the widget's own colours too) changed."""
        self.rows, self._drawn_for = rows, self._drawing_key()
        shown = set(rows)
        self._strips = {} if anew else {
            row: strip for row, strip in self._strips.items() if row in shown}
