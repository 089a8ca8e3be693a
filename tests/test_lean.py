"""The lean compositor paints every repainted area as Textual's own compositor would."""

from __future__ import annotations

from functools import partial
from itertools import pairwise

from textual._compositor import Compositor
from textual.geometry import Region
from tui_helpers import demo_app, ready, send, wait_until

from ratelimit_tui.tui.lean import LeanCompositor


def painted(compositor: Compositor, crop: Region) -> list[list]:
    """The strips a partial update with this bounding box writes: its lines, within its columns
    (a chop outside them is never written, and the lean compositor leaves it unrendered)."""
    chops = compositor._render_chops(crop, lambda y: True)
    lines = []
    for y in crop.line_range:
        ends = [*sorted(chops[y]), compositor.size.width]
        lines.append([(x, chops[y][x]) for x, end in pairwise(ends)
                      if x < crop.right and end > crop.x])
    return lines


def textuals(compositor: Compositor, crop: Region) -> list[list]:
    """The same, with Textual's choice of widgets to render."""
    compositor._get_renders = partial(Compositor._get_renders, compositor)
    try:
        return painted(compositor, crop)
    finally:
        del compositor._get_renders


async def test_a_partial_update_paints_what_textuals_would():
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await send(pilot, "hello")
        await wait_until(pilot, lambda: app.plot.frame is not None and not app.answering(),
                         what="the gauges, the plot and the answer")
        compositor = app.screen._compositor
        assert isinstance(compositor, LeanCompositor)
        width, height = compositor.size
        boxes = [Region(0, y, width, 1) for y in range(height)]  # every line
        boxes += [region.intersection(clip)  # every widget, and a line of each
                  for region, clip in compositor.visible_widgets.values()]
        boxes += [Region(box.x, box.y, box.width, 1) for box in boxes[height:]]
        boxes += [Region(3, 2, 40, 6), Region(50, 10, 30, 3), Region(0, 0, width, height)]
        for box in boxes:
            if box.area:
                assert painted(compositor, box) == textuals(compositor, box), box
        gauge = app.quota_panel.gauges["requests"].region  # a countdown's line: its gauge
        line = Region(gauge.x, gauge.y, gauge.width, 1)  # alone
        lean = [region for region, _, _ in compositor._get_renders(line)]
        every = [region for region, _, _ in Compositor._get_renders(compositor, line)]
        assert lean == [gauge] and len(every) == 10
