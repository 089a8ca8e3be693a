"""Every body read from the network, bounded in time and size.

The SDK's timeout limits only the wait between two bytes: a server that trickles, or a stream
that never ends, would hold a call (and its memory) forever. The client's response hook wraps
each response's byte stream in a BoundedStream before anything reads it, so the limits hold for
every path alike: a JSON answer, an error body, a server-sent-event stream.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx2

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Generous: far above any real answer, far below what would hurt the machine."""

    idle_s: float = 60.0  # the longest silence between two pieces of a body
    body_s: float = 60.0  # a whole body that is not a stream
    total_s: float = 600.0  # a whole stream
    max_bytes: int = 16 * MIB  # a whole body as sent (a stream too: the whole answer)
    max_line_bytes: int = 1 * MIB  # one line of a server-sent-event stream


class BodyStalled(httpx2.ReadTimeout):
    """The server stopped sending, or took longer than the whole-body limit."""


class BodyTooLarge(httpx2.ReadError):
    """The body, or one line of an event stream, passed its cap: reading stopped there."""


class BoundedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limits: Limits, events: bool,
                 watch: Watch | None, watchdog: Watchdog) -> None:
        self._inner = inner
        self._limits = limits
        self._events = events  # text/event-stream: lines are capped too
        self._watch = watch  # the call's, timing its head and then this body; or None
        self._watchdog = watchdog

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limits = self._limits
        max_bytes, max_line_bytes, events = limits.max_bytes, limits.max_line_bytes, self._events
        watch = self._watch or Watch.of_body(limits, events, self._watchdog)
        # Looked up once: a stream comes in about 20 pieces, each through these.
        reading = watch.reading
        next_piece = self._inner.__aiter__().__anext__
        received = line = 0  # bytes in all; bytes since the last newline
        try:
            while True:
                reading()
                try:
                    chunk = await next_piece()
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    watch.stalled()  # raises BodyStalled if the watch cancelled the read
                    raise
                finally:
                    watch.task = None  # between reads
                size = len(chunk)
                received += size
                if received > max_bytes:
                    raise BodyTooLarge(f"the response passed {limits.max_bytes // MIB} MiB: "
                                       "reading stopped there")
                if events:
                    newline = chunk.rfind(b"\n")
                    line = size - newline - 1 if newline >= 0 else line + size
                    if line > max_line_bytes:
                        raise BodyTooLarge(f"one line of the event stream passed "
                                           f"{limits.max_line_bytes // MIB} MiB: reading "
                                           "stopped there")
                yield chunk
        finally:
            watch.stop()

    async def aclose(self) -> None:
        await self._inner.aclose()


class Watchdog:
    """One timer for every watch of a client (and any of its bodies'): a timer per call
    cost more than the rest of the client's work on its head. It fires at the earliest time a
    watched read may have run out; each watch then cancels its read if it did, or says when
    to look again. A watch is watched from the first read it times until it stops, or until
    a look finds it between reads: its next read asks again."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: set[Watch] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._due = math.inf  # when the timer fires (inf: it is not set)

    def watch(self, watch: Watch, due: float) -> None:
        """Look at `watch` by `due` at the latest."""
        if watch.loop is not self._loop:  # a new event loop: the old one's timer is gone
            self._loop, self._watches, self._timer, self._due = watch.loop, set(), None, math.inf
        self._watches.add(watch)
        if due < self._due:
            self._set(due)

    def unwatch(self, watch: Watch) -> None:
        self._watches.discard(watch)

    def _set(self, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due = due
        self._timer = self._loop.call_at(due, self._look)

    def _look(self) -> None:
        due, self._timer, self._due = self._due, None, math.inf
        later = math.inf
        for watch in list(self._watches):
            again = watch.look(due)
            if again is None:
                self._watches.discard(watch)
            else:
                later = min(later, again)
        if later < math.inf:
            self._set(later)


class Watch:
    """A response's time limits: its head's deadline, then its body's, timed by its client's
    watchdog rather than by a timer per read (or per response).

    A stream is read in many small pieces (an event stream: one per token), most of them
    already buffered. An `asyncio.timeout` around each read cost more than the rest of the
    client's work on a streamed call; this watch notes when each read starts, and when the
    watchdog looks, cancels the read only if that read has waited past its limit. A call's
    watch times its head too, as one long read (`async with` it, as with `asyncio.timeout`,
    which it replaces there). The cancel is the task's, undone as asyncio.timeout does."""

    def __init__(self, idle_s: float, total_s: float, watchdog: Watchdog) -> None:
        self.loop = asyncio.get_running_loop()
        self._time = _clock(self.loop)  # once a piece
        self._idle_s = idle_s
        self._ends = self._time() + total_s
        self._total_s = total_s
        self._watchdog = watchdog
        self._watched = False  # the watchdog looks at this watch by its current read's limit
        self.task: asyncio.Task | None = None  # the task reading now, or None between reads
        self._since = 0.0  # when the current read started
        self._cancelling = 0  # the task's cancel requests when the current read started
        self._fired: asyncio.Task | None = None  # the task this watch cancelled, until told

    @classmethod
    def of_head(cls, head_s: float, watchdog: Watchdog) -> Watch:
        """A call's watch: waiting for the head, as one read of `head_s` at most; when it
        comes, `body` gives the watch the body's limits."""
        return cls(head_s, math.inf, watchdog)

    @classmethod
    def of_body(cls, limits: Limits, events: bool, watchdog: Watchdog) -> Watch:
        """A body's own watch, for a response that came with none."""
        return cls(limits.idle_s, limits.total_s if events else limits.body_s, watchdog)

    def body(self, limits: Limits, events: bool) -> None:
        """The head is here: from now on the body's limits hold, counted from now."""
        self._idle_s = limits.idle_s
        self._total_s = limits.total_s if events else limits.body_s
        now = self._time()
        self._ends = now + self._total_s
        self.task = None  # between reads until the body's first
        if self._watched:  # by the earliest limit a read from now on can have
            self._watchdog.watch(self, min(now + self._idle_s, self._ends))

    async def __aenter__(self) -> Watch:
        self.reading()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: object) -> None:
        self.stop()
        task, self._fired = self._fired, None
        # This watch cancelled the head's wait: a TimeoutError, as asyncio.timeout raises,
        # unless someone else cancelled the task too.
        if task is not None and task.uncancel() <= self._cancelling and (
                exc_type is asyncio.CancelledError):
            raise TimeoutError from exc

    def reading(self) -> None:
        self.task = task = asyncio.current_task(self.loop)
        self._since = self._time()
        self._cancelling = task.cancelling() if task is not None else 0
        if not self._watched:  # else the watchdog looks by then: a later read's limit is later
            self._watched = True
            self._watchdog.watch(self, self._due())

    def stalled(self) -> None:
        """Called on a read's cancel: BodyStalled if this watch asked for it (and nobody else
        cancelled the task meanwhile), else the cancel goes on."""
        task, self._fired = self._fired, None
        if task is None or task.uncancel() > self._cancelling:
            return
        if self._ends - self._since < self._idle_s:
            raise BodyStalled(f"the response took longer than {self._total_s:g} s in all"
                              ) from None
        raise BodyStalled(f"the server stopped sending for {self._idle_s:g} s") from None

    def stop(self) -> None:
        if self._watched:
            self._watched = False
            self._watchdog.unwatch(self)

    def look(self, due: float) -> float | None:
        """The watchdog's look, set for `due`: the current read cancelled if its limit has
        come, and when to look again (None: not until the next read)."""
        if self.task is None:
            self._watched = False  # between reads: the next read asks again
            return None
        limit = self._due()
        if limit > due:
            return limit  # a later read than the look was set for: its own limit
        self._watched = False
        self._fired = self.task
        self.task.cancel()
        return None

    def _due(self) -> float:
        """The current read's limit: its idle limit, or the whole body's if that comes first."""
        return min(self._since + self._idle_s, self._ends)


def _clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """The loop's time(): time.monotonic itself where time() only calls it, as asyncio's own
    loops' does (a Python call saved on every read of a stream's pieces)."""
    return time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time


def bound(response: httpx2.Response, limits: Limits, content_type: str,
          watch: Watch | None, watchdog: Watchdog) -> None:
    """Wrap the response's body before anything reads it (from the response event hook); the
    call's watch, if it has one, times the body from now on."""
    events = "text/event-stream" in content_type
    if watch is not None:
        watch.body(limits, events)
    if isinstance(response.stream, httpx2.AsyncByteStream):
        response.stream = BoundedStream(response.stream, limits, events, watch, watchdog)
