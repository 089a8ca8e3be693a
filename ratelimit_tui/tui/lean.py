"""A screen whose partial updates render only the widgets that show in the repainted area.

Textual's compositor (8.2.8, pinned), for a partial update, renders every widget whose *clip*
(the visible area of its container) meets the bounding box of the dirty regions, then keeps
only the lines that changed. On the dashboard, a countdown's tick dirties one line of one
gauge, and that rendered ten widgets: the status line and the footer (children of the screen,
whose clip is the whole screen), the right-hand column, the chat panel and the other gauges,
none of which has a cell in that line. Rendering only the widgets whose own visible part meets
the box gives the same lines (a widget outside it contributes no cell to them) for half the
renders. This overrides the compositor's private `_get_renders`; the snapshot tests and
tests/test_lean.py show the screens it draws are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


class LeanCompositor(Compositor):
    def _get_renders(
            self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:  # a full update: every widget, as Textual does
            yield from super()._get_renders(crop)
            return
        meets = crop.overlaps
        for widget, (region, clip) in self.visible_widgets.items():
            shown = region.intersection(clip)  # the part of the widget on screen
            if shown.area and meets(shown):
                yield region, clip, widget.render_lines(shown.translate(-region.offset))


class LeanScreen(Screen):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = LeanCompositor()  # made by Screen.__init__, used from mount on
