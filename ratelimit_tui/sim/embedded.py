"""Run the simulator in-process: on a free loopback port, in a background thread, stopped
cleanly. The dashboard's demo mode and the tests use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time

import uvicorn

from ratelimit_tui.sim.server import SimConfig, create_app


def quiet_uvicorn() -> None:
    """uvicorn's loggers would write to stderr, where the dashboard draws its screen."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when it does, and
    # without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class QuietServer(uvicorn.Server):
    """uvicorn's Server wakes ten times a second to see whether it should exit, which an idle
    dashboard in demo mode paid for. This one wakes once a second, to keep the Date header
    current as uvicorn does, and at once when asked to exit (by request_exit or a signal)."""

    tick_s = 1.0
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        while not await self.on_tick(0):  # counter 0: the tick that refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_s)

    def request_exit(self) -> None:
        """Shut down gracefully; callable from any thread."""
        self.should_exit = True
        self._wake_up()

    def handle_exit(self, sig: int, frame: object) -> None:  # Ctrl-C or SIGTERM (`sim`)
        super().handle_exit(sig, frame)
        self._wake_up()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's steps, without its fixed pauses: it sleeps 0.1 s after asking each
        connection to close and then looks every 0.1 s until they have, though they go within
        a turn or two of the loop. Every exit of demo mode (and every test's simulator) sat
        out at least 0.1 s of it; this looks every 5 ms, within the same graceful timeout."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        state = self.server_state
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while (state.connections or state.tasks) and not self.force_exit:
                    await asyncio.sleep(0.005)
                for server in self.servers:
                    await server.wait_closed()
        except TimeoutError:
            for task in state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    def _wake_up(self) -> None:
        # Set before the loop's first look at should_exit, or seen by it: no exit is missed.
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: it exited already
                loop.call_soon_threadsafe(wake.set)


def server_for(config: SimConfig, **options: object) -> QuietServer:
    """uvicorn as the simulator wants it: no access log (the simulator logs its own line), no
    `server: uvicorn` header (the real APIs do not send it), no proxy headers to trust (it
    reads no client address); loop and parser left to uvicorn's "auto": uvloop and httptools
    where they are installed (the `fast` extra), asyncio and h11 elsewhere."""
    app = create_app(config)
    return QuietServer(uvicorn.Config(
        app, log_config=None, access_log=False, server_header=False, proxy_headers=False,
        timeout_graceful_shutdown=1, **options))


class EmbeddedSimulator:
    """`with EmbeddedSimulator(SimConfig()) as sim: ... sim.base_url ...`"""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.config = config or SimConfig()
        self.host = host
        self._sock = bind(host, port)
        self.port = self._sock.getsockname()[1]
        quiet_uvicorn()
        try:
            self._server = server_for(self.config)
        except Exception:
            self._sock.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def simulator(self):  # the Simulator behind the app, for tests that look inside
        return self._server.config.app.state.sim

    def start(self, timeout: float = 10.0) -> EmbeddedSimulator:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="ratelimit-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the embedded simulator did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> EmbeddedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
