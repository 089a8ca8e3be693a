"""The event log: 429s with their waits, retries, errors with their human messages."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from itertools import islice

from rich.text import Text
from textual.events import Resize
from textual.geometry import Size

from ratelimit_tui.core.imports import without
from ratelimit_tui.tui.widgets.panels import EventsSoFar

# RichLog imports rich.pretty, which imports attrs where it is installed (the [serve] extra
# brings it, with aiohttp) to print attrs classes, which the log never prints: 13 ms.
# rich.pretty takes it for missing, as where it is not installed.
with without("attr"):
    from textual.widgets import RichLog

# A new width wraps every entry kept again: 500 entries of two lines, about 70 ms of CPU.
MAX_ENTRIES = 500


class EventLog(RichLog):
    """Textual's RichLog wraps a line once, to the width it has when written: this one keeps
    its entries, and wraps them again when its width changes."""

    def __init__(self, clock: Callable[[], float], so_far: EventsSoFar) -> None:
        """The log, with what was said before it was made."""
        super().__init__(id="events", max_lines=1000, wrap=True, markup=False, min_width=20)
        self.clock = clock
        self.border_title = "Events"
        self.display = so_far.display
        self.entries: deque[Text] = deque(maxlen=MAX_ENTRIES)
        self.heights: deque[int] = deque(maxlen=MAX_ENTRIES)  # each entry's lines, as wrapped
        # The region the lines were laid out for; none until the first Resize, which writes
        # what came before it (RichLog would keep it for then, and wrap it to a width unknown).
        self.laid_out_for = Size(0, 0)
        for at, text, style in so_far.entries:
            self.add(text, style, at)

    def add(self, text: str, style: str = "", at: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock() if at is None else at))
        entry = Text.assemble((stamp + " ", "dim"), (text, style))
        self.entries.append(entry)
        if self.laid_out_for.width:
            self.heights.append(self.write_entry(entry))

    def write_entry(self, entry: Text, scroll_end: bool | None = None) -> int:
        """Write it; the lines it took. (RichLog counts the lines it dropped, to keep within
        max_lines, in _start_line: private, but Textual is pinned.)"""
        written = self._start_line + len(self.lines)
        self.write(entry, scroll_end=scroll_end)
        return self._start_line + len(self.lines) - written

    def on_resize(self, event: Resize) -> None:
        """A new width wraps the entries again; the view stays at the newest line, or, if the
        user scrolled up, at the entry they were reading."""
        was, now = self.laid_out_for, self.scrollable_content_region.size
        # Textual has already brought the scroll within the new bounds: a taller view ends
        # lower, so seen from either height the newest line was in view.
        following = self.scroll_y + max(was.height, now.height) >= len(self.lines)
        place = None if following else self.place_of(round(self.scroll_y))
        self.laid_out_for = now
        if now.width and now.width != was.width:
            self.call_next(self.rewrap, place)  # once RichLog's own handler knows the size
        elif following:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def place_of(self, line: int) -> tuple[int, int]:
        """Which entry holds this line, counted from the newest (0), and which of its lines."""
        below = len(self.lines) - line  # this line and those after it
        for back, height in enumerate(reversed(self.heights)):
            if below <= height:
                return back, height - below
            below -= height
        return len(self.heights) - 1, 0  # in an entry dropped from the front: the oldest kept

    def rewrap(self, place: tuple[int, int] | None) -> None:
        """Every entry written again at the new width: at the end, or at `place`."""
        self.clear()
        self.heights.clear()
        for entry in self.entries:
            self.heights.append(self.write_entry(entry, scroll_end=False))
        if place is None:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
            return
        back, within = place
        from_there = sum(islice(reversed(self.heights), back + 1))
        top = len(self.lines) - from_there + min(within, self.heights[-1 - back] - 1)
        self.call_after_refresh(self.scroll_to, y=max(top, 0), animate=False, immediate=True)
