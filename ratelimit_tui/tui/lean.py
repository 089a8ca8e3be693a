"""A screen whose partial updates render only the widgets that show in the repainted lines.

Textual's compositor (8.2.8, pinned), for a partial update, renders every widget whose *clip*
(the visible area of its container) meets the bounding box of the dirty regions, each of them
whole, then keeps only the lines that changed. On the dashboard, a countdown's tick dirties
one line of one gauge, and that rendered ten widgets whole: the status line and the footer
(children of the screen, whose clip is the whole screen), the right-hand column, the chat
panel and the other gauges, none of which has a cell in that line, and the screen and the
columns behind it, 36 lines each from their caches. Rendering, of the widgets whose own
visible part meets the box, the lines of the box alone, and none behind a widget that covers
the box (the compositor goes from front to back, and the front one's cells win) gives the
same lines (nothing else is written) for one render of one line. This overrides the
compositor's private `_get_renders`: tests/test_lean.py checks that what it paints is what
Textual's would.
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
        if crop is None:  # as Textual's: the whole screen (a full update passes its region)
            crop = self.size.region
        meets = crop.overlaps
        band = Region(0, crop.y, self.size.width, crop.height)  # the lines to repaint
        for widget, (region, clip) in self.visible_widgets.items():
            clip = clip.intersection(band)
            shown = region.intersection(clip)  # the part of the widget on those lines
            if shown.area and meets(shown):
                yield region, clip, widget.render_lines(shown.translate(-region.offset))
                if shown.contains_region(crop):
                    return  # the rest are behind it: each cell goes to the widget in front


class LeanScreen(Screen):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = LeanCompositor()  # made by Screen.__init__, used from mount on
