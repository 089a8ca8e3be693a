"""One instant for everything painted together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FrameClock:
    """The clock as the widgets drawn in one turn of the event loop read it: the same instant
    for all of them, so that the figures on one screen agree to the unit (a token bucket that
    refills 100 a second gains one in the milliseconds between two widgets' paints)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._now: float | None = None

    def __call__(self) -> float:
        if self._now is None:
            try:
                forget = asyncio.get_running_loop().call_soon
            except RuntimeError:  # no loop: nothing is being painted
                return self.clock()
            self._now = self.clock()
            forget(self.new_instant)
        return self._now

    def new_instant(self) -> None:
        """The next read takes the clock again (a tick, news: the screen moves on)."""
        self._now = None
