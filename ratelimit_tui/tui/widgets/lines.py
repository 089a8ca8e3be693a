"""Widgets that paint their own lines (render_line) and repaint only the lines that changed:
a tick or a redraw moves a line or two, and a widget's whole render cost more than that."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget


def line_strip(widget: Widget, text: Text, width: int) -> Strip:
    """One line of text, painted as Textual paints a widget's rendered text."""
    return Visual.to_strips(widget, visualize(widget, text), width, 1, widget.visual_style)[0]


def refresh_changed(widget: Widget, before: Sequence, after: Sequence) -> None:
    """Repaint the lines of `widget` whose text differs between the two (of equal length)."""
    for y, (old, new) in enumerate(zip(before, after, strict=True)):
        if old != new:
            widget.refresh(Region(0, y, widget.size.width, 1))
