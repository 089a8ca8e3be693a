"""Every body read from the network, bounded in time and size.

The SDK's timeout limits only the wait between two bytes: a server that trickles, or a stream
that never ends, would hold a call (and its memory) forever. The client's response hook wraps
each response's byte stream in a BoundedStream before anything reads it, so the limits hold for
every path alike: a JSON answer, an error body, a server-sent-event stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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
    def __init__(self, inner: httpx2.AsyncByteStream, limits: Limits, events: bool) -> None:
        self._inner = inner
        self._limits = limits
        self._events = events  # text/event-stream: lines are capped too
        self._total_s = limits.total_s if events else limits.body_s

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limits = self._limits
        loop = asyncio.get_running_loop()
        total_s = self._total_s
        ends = loop.time() + total_s
        received = line = 0  # bytes in all; bytes since the last newline
        pieces = self._inner.__aiter__()
        while True:
            wait = min(limits.idle_s, ends - loop.time())
            try:
                async with asyncio.timeout(max(0.0, wait)):
                    chunk = await pieces.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                if wait < limits.idle_s:
                    raise BodyStalled(f"the response took longer than {total_s:g} s in all"
                                      ) from None
                raise BodyStalled(f"the server stopped sending for {limits.idle_s:g} s") from None
            received += len(chunk)
            if received > limits.max_bytes:
                raise BodyTooLarge(f"the response passed {limits.max_bytes // MIB} MiB: "
                                   "reading stopped there")
            if self._events:
                newline = chunk.rfind(b"\n")
                line = len(chunk) - newline - 1 if newline >= 0 else line + len(chunk)
                if line > limits.max_line_bytes:
                    raise BodyTooLarge(f"one line of the event stream passed "
                                       f"{limits.max_line_bytes // MIB} MiB: reading stopped "
                                       "there")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def bound(response: httpx2.Response, limits: Limits) -> None:
    """Wrap the response's body before anything reads it (from the response event hook)."""
    events = "text/event-stream" in response.headers.get("content-type", "")
    if isinstance(response.stream, httpx2.AsyncByteStream):
        response.stream = BoundedStream(response.stream, limits, events)
