"""`ratelimit-tui sim`: serve the simulator until Ctrl-C."""

from __future__ import annotations

import asyncio
import sys
import time

from ratelimit_tui.core.endpoint import is_loopback
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.names import FAULT_KINDS
from ratelimit_tui.sim.server import SimConfig


def parse_fault(text: str) -> tuple[str, float]:
    """'cut:0.2' -> ('cut', 0.2)."""
    kind, _, rate = text.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"--fault {text!r}: KIND is one of {', '.join(FAULT_KINDS)}")
    try:
        value = float(rate) if rate else 1.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"--fault {text!r}: RATE is a probability from 0 to 1")
    return kind, value


class RequestLog:
    """The simulator's log lines on stdout, stamped with the time of day. Called on the event
    loop; flushed once per turn of it, so a burst of requests costs one write, and a reader
    still has every line before the loop next waits."""

    def __init__(self) -> None:
        self._flush_due = False

    def __call__(self, line: str) -> None:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        sys.stdout.flush()


def run(args) -> int:
    from ratelimit_tui.sim.embedded import bind, quiet_uvicorn, server_for

    log = RequestLog()
    config = SimConfig(
        limits=Limits(args.rpm, args.tpm, args.rpd), latency_ms=args.latency_ms,
        tokens_per_s=args.tokens_per_s, dialect=args.dialect, teammates=args.teammates,
        faults=dict(args.fault or []), seed=args.seed, log=log,
    )
    if not is_loopback(args.host):
        print(f"warning: serving on {args.host}, not loopback: anyone who can reach this "
              "address can use the simulator", file=sys.stderr)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"ratelimit-tui sim: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    quiet_uvicorn()
    server = server_for(config)

    async def serve() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:  # only now: requests are answered and Ctrl-C stops it cleanly
            print(f"Serving OpenAI-compatible API on http://{shown}:{port}/v1", flush=True)
            print(f"limits: {args.rpm} requests/min, {args.tpm} tokens/min"
                  + (f", {args.rpd} requests/day" if args.rpd else "")
                  + f"; dialect {args.dialect}; any API key works (keys are never logged)",
                  flush=True)
        await serving

    # uvicorn's choice of loop, as its own `run` makes it: uvloop where it is installed.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(serve())
    return 0
