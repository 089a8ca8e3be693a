"""`ratelimit-tui serve`: the dashboard in a web browser, through textual-serve (the [serve]
extra). Each browser tab gets its own dashboard process, started with the flags given here."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ratelimit_tui.core.endpoint import is_loopback

TITLE = "ratelimit-tui"
TEMPLATES = Path(__file__).with_name("templates")  # our launch page, textual-serve's scripts


def tab_arguments(flags: dict, tour: bool) -> list[str]:
    """What each tab runs: the tour, or the dashboard with the flags the user gave (by setting
    name, as argparse holds them)."""
    if tour:
        return ["demo", "--tour"]
    arguments = ["dashboard"]
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            arguments.append(flag)
        else:
            arguments += [part for item in (value if isinstance(value, list) else [value])
                          for part in (flag, str(item))]
    return arguments


def tab_command(arguments: list[str]) -> str:
    """The shell line textual-serve runs for each tab. The API key is not on it (a command line
    is visible to every user of the machine): the tab inherits it from this environment."""
    return shlex.join([sys.executable, "-m", "ratelimit_tui", *arguments])


def public_url(host: str, port: int) -> str:
    """Where a browser finds this server: the page tells it where the websocket is from this."""
    import socket

    if host in ("", "0.0.0.0", "::"):  # every interface: name the machine, not the wildcard
        host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def free_port(host: str, port: int) -> int:
    """`port`, or any free one for 0, checked free now so that a taken one fails with a plain
    message before textual-serve starts (it would print its URL first, then a traceback)."""
    from ratelimit_tui.sim.embedded import bind

    with bind(host, port) as sock:
        return sock.getsockname()[1]


def run(arguments: list[str], host: str, port: int, url: str | None,
        simulated: bool = False) -> int:
    """`simulated`: every tab runs on the built-in simulator, with no key of the user's."""
    try:
        server = make_server(tab_command(arguments), host, port, url)
    except ImportError:
        print("ratelimit-tui serve needs textual-serve: pip install 'ratelimit-tui[serve]'",
              file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ratelimit-tui serve: cannot listen on {host}:{port}: {exc.strerror}",
              file=sys.stderr)
        return 2
    if not is_loopback(host):
        print(f"warning: serving on {host}, not loopback: anyone who can open "
              f"{server.public_url} gets a dashboard" + (
                  " on the built-in simulator (no API key is used)" if simulated else
                  " that makes calls with the API key this server holds"), file=sys.stderr)
    server.serve()
    return 0


def make_server(command: str, host: str, port: int, url: str | None):
    """textual-serve's Server with our launch page, our one line at start, and tabs that end
    with it: on Ctrl-C it closes every tab, which quits the tab's dashboard."""
    import asyncio
    import logging

    from textual_serve.server import Server

    class Dashboards(Server):
        def __init__(self) -> None:
            port_now = free_port(host, port)
            super().__init__(command, host=host, port=port_now, title=TITLE,
                             public_url=url or public_url(host, port_now),
                             templates_path=TEMPLATES)
            self.tabs: set[asyncio.Task] = set()

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # a line a file

        async def on_startup(self, app) -> None:  # instead of a banner naming the command
            print(f"ratelimit-tui: the dashboard is at {self.public_url} (Ctrl-C stops)",
                  flush=True)

        async def handle_websocket(self, request):
            tab = asyncio.current_task()
            self.tabs.add(tab)
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.discard(tab)

        async def on_shutdown(self, app) -> None:
            # Cancelled, textual-serve closes the tab's socket and tells its dashboard to
            # quit; without this, shutdown waits for every browser to leave.
            for tab in self.tabs:
                tab.cancel()
            await asyncio.gather(*self.tabs, return_exceptions=True)

    return Dashboards()
