"""Headless Chromium driven over the DevTools protocol, through aiohttp's websocket client
(aiohttp comes with textual-serve): enough to open a page, read the terminal it shows and take
a screenshot, without a browser automation framework and its own browser download."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # aiohttp comes with the [serve] extra: imported when a browser starts
    import aiohttp

# Chromium on a closed network: no sandbox (root in CI), no GPU, and none of the background
# calls home that stall it.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0")

# Before the page's scripts run: keep the xterm.js Terminal that textual.js makes (it assigns
# it to `this.terminal`; a setter on Object.prototype sees that assignment), and a promise of it.
CATCH_TERMINAL = """
window.terminalMade = new Promise(resolve => {
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    set(value) {
      Object.defineProperty(this, "terminal", {value, writable: true, configurable: true});
      if (value && value.buffer) resolve(value);
    },
  });
});
"""

# The terminal's screen as text, once it matches `pattern`: checked after every write the
# terminal parses, so the wait follows the page, not a clock.
SCREEN_MATCHING = """
window.terminalMade.then(terminal => new Promise(resolve => {
  const pattern = new RegExp(%s);
  const check = () => {
    const buffer = terminal.buffer.active, lines = [];
    for (let y = 0; y < terminal.rows; y++) {
      lines.push(buffer.getLine(buffer.viewportY + y).translateToString(true));
    }
    const screen = lines.join("\\n");
    if (pattern.test(screen)) { resolve(screen); }
  };
  terminal.onWriteParsed(check);
  check();
}))
"""


class Page:
    """One tab, over its DevTools websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, width: int,
                 height: int) -> None:
        self.socket = socket
        self.size = {"width": width, "height": height}
        self.ids = itertools.count(1)

    async def call(self, method: str, **params) -> dict:
        call_id = next(self.ids)
        await self.socket.send_json({"id": call_id, "method": method, "params": params})
        async for message in self.socket:  # events in between are not needed here
            reply = json.loads(message.data)
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise RuntimeError(f"{method}: the browser closed the connection")

    async def open(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Emulation.setDeviceMetricsOverride", **self.size, deviceScaleFactor=1,
                        mobile=False)  # the viewport itself, not a window around it
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await self.call("Page.navigate", url=url)

    async def screen_matching(self, pattern: str) -> str:
        """The terminal's text once it matches the regular expression `pattern`."""
        result = await self.call("Runtime.evaluate", expression=SCREEN_MATCHING
                                 % json.dumps(pattern), awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"]["value"]

    async def screenshot(self) -> bytes:
        result = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])


@contextlib.asynccontextmanager
async def chromium(path: str, width: int, height: int):
    """A Page in a fresh headless Chromium of `width` x `height`, stopped on the way out."""
    import aiohttp

    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [path, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        drain = threading.Thread(target=process.stderr.read)  # a full pipe would stall it
        try:
            port = await asyncio.to_thread(_devtools_port, process)
            drain.start()
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    tab = next(t for t in await response.json() if t["type"] == "page")
                async with session.ws_connect(tab["webSocketDebuggerUrl"],
                                              max_msg_size=0) as socket:
                    yield Page(socket, width, height)
        finally:
            process.kill()
            process.wait()
            if drain.is_alive():
                drain.join()
            process.stderr.close()


def _devtools_port(process: subprocess.Popen) -> int:
    """The port Chromium says it listens on ('DevTools listening on ws://127.0.0.1:PORT/...')."""
    for line in process.stderr:
        found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if found:
            return int(found.group(1))
    raise RuntimeError(f"Chromium exited ({process.wait()}) before it listened")
