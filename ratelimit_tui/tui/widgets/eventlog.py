"""The event log: 429s with their waits, retries, errors with their human messages."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from ratelimit_tui.core.imports import without
from ratelimit_tui.tui.widgets.panels import EventsSoFar

# RichLog imports rich.pretty, which imports attrs where it is installed (the [serve] extra
# brings it, with aiohttp) to print attrs classes, which the log never prints: 13 ms.
# rich.pretty takes it for missing, as where it is not installed.
with without("attr"):
    from textual.widgets import RichLog


class EventLog(RichLog):
    def __init__(self, clock: Callable[[], float], so_far: EventsSoFar) -> None:
        """The log, with what was said before it was made."""
        super().__init__(id="events", max_lines=1000, wrap=True, markup=False, min_width=20)
        self.clock = clock
        self.border_title = "Events"
        self.display = so_far.display
        for at, text, style in so_far.entries:
            self.add(text, style, at)

    def add(self, text: str, style: str = "", at: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock() if at is None else at))
        self.write(Text.assemble((stamp + " ", "dim"), (text, style)))

    def on_resize(self) -> None:
        """Wrapped lines are laid out again for the new width: stay at the newest entry."""
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
