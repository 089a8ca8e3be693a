"""Scenes of the real dashboard in demo mode, played on a scripted clock so that every run draws
the same screen. Both the snapshot tests and scripts/screenshots.py play them."""

from __future__ import annotations

import asyncio
import fcntl
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ratelimit_tui.config import DEMO_POLL_S, Settings, load_settings
from ratelimit_tui.sim.embedded import EmbeddedSimulator
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig, demo_config
from ratelimit_tui.tui.app import RateLimitApp, make_app

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
SIZES = {"wide": (120, 36), "narrow": (80, 24)}


class ScriptedTime:
    """Epoch seconds that move only when the script says so; the simulator's buckets and the
    dashboard read the same clock. `sleep` (the client's waits before retries and between
    polls) moves the clock instead of waiting; with `hold`, each sleep first waits for
    `release()`, so that a test can look at the screen during the wait; with `hold_from`,
    only the sleeps that long or longer do."""

    def __init__(self, start: float = START, hold: bool = False,
                 hold_from: float | None = None) -> None:
        self.now = start
        self.hold_from = 0.0 if hold else hold_from
        self.waits: list[float] = []  # every sleep asked for, in order
        self._released: asyncio.Event | None = None
        self._holding = asyncio.Event()  # set while a held sleep waits for release()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.hold_from is not None and seconds >= self.hold_from:
            self._released = asyncio.Event()
            self._holding.set()
            await self._released.wait()
        self.now += seconds
        await asyncio.sleep(0)

    def waiting(self) -> bool:
        return self._released is not None and not self._released.is_set()

    async def held(self) -> None:
        """Until a sleep is held (in this event loop): a test waits on this, not on time."""
        await self._holding.wait()

    def release(self) -> None:
        self._holding.clear()
        if self._released is not None:
            self._released.set()


def tour_app(deterministic: bool = True, tour: str | None = "once") -> RateLimitApp:
    """The dashboard as a first run shows it (demo mode: the simulator's limits, polling every
    10 s), playing the tour on a scripted clock (with `tour`). Each wait of 10 s or more (the
    polls') is held for good; a retry's shorter wait moves the clock. No random teammates: the
    tour's own traffic is the story."""
    clock = ScriptedTime(hold_from=DEMO_POLL_S)
    settings = load_settings({"demo": True, "history": False}, env={})
    demo = demo_config()  # without the tour, its teammates too (their first call is 8 s off)
    sim = replace(demo, latency_ms=0.0, tokens_per_s=0.0, clock=clock,
                  teammates=0 if tour else demo.teammates)
    return make_app(settings, clock=clock, sleep=clock.sleep, sim_config=sim, tour=tour,
                    **fixed(deterministic))


def fixed(deterministic: bool) -> dict:
    """The app's options for a picture that is the same run after run: no measured time, and
    the same spread of each retry's wait."""
    return {"timer": lambda: 0.0, "rng": random.Random(0)} if deterministic else {}


async def settle(pilot, drawn: bool = True) -> None:
    """Until the client is up, no call is running, and (`drawn`) the screen has caught up."""
    app = pilot.app
    await pilot.pause()  # a submitted line becomes a worker only once its message is handled
    deadline = time.monotonic() + 20
    busy = ("chat", "burst", "probe", "tour")
    # Not finished, rather than running: a worker just created is still pending, and moving
    # the clock before it runs would stamp its responses with the next step's time.
    started = (lambda: app.tour_player is not None) if app.tour else (
        lambda: app.session.facts.last_response_at is not None)  # the first poll answered
    while not started() or any(
            (w.group or "").split(":")[0] in busy and not w.is_finished for w in app.workers):
        if time.monotonic() > deadline:
            raise TimeoutError("the scene did not settle")
        await asyncio.sleep(0.02)
    if drawn:  # the plot's redraw is coalesced over 0.25 s of real time: draw it now
        app.plot.redraw()
        await pilot.pause()


async def play_step(pilot, look_s: float = 1.0, drawn: bool = True) -> None:
    """The tour's current step, act by act on the scripted clock, then `look_s` more: the
    moment its picture is taken (once `drawn`)."""
    app = pilot.app
    clock, tour = app.clock, app.tour_player.tour
    started = clock.now - tour.elapsed(clock.now)
    for act in tour.step.acts:
        clock.now = max(clock.now, started + act.at_s)
        app.tick()
        await settle(pilot, drawn=False)
    clock.now = max(clock.now, started + max((a.at_s for a in tour.step.acts), default=0.0)
                    + look_s)
    app.tick()
    await settle(pilot, drawn)  # which brings the plot to the scripted now


def tour_step(number: int) -> Callable[[object], Awaitable[None]]:
    """A scene: the tour played up to step `number` (1-based), at that step's picture."""

    async def scene(pilot) -> None:
        await settle(pilot, drawn=False)
        for _ in range(number - 1):
            await play_step(pilot, look_s=0.0, drawn=False)
            await next_step(pilot)
        await play_step(pilot)

    return scene


async def next_step(pilot) -> None:
    """The clock to the end of the tour's current step: the next begins, its first acts go."""
    app = pilot.app
    tour = app.tour_player.tour
    app.clock.now += tour.step.seconds - tour.elapsed(app.clock.now)
    app.tick()
    await settle(pilot, drawn=False)


async def first_run(pilot) -> None:
    """What `ratelimit-tui` shows on a machine with no key: demo mode after its first poll
    (with tour_app(tour=None))."""
    await settle(pilot)
    pilot.app.clock.now += 1  # a second on: the countdowns have moved
    pilot.app.tick()
    await pilot.pause()


async def headers(pilot) -> None:
    """The first step, with the last response's headers open (F2)."""
    await tour_step(1)(pilot)
    await pilot.press("f2")
    await pilot.pause()


TOUR_STEPS = 6
SCENES = {f"tour-{n}": tour_step(n) for n in range(1, TOUR_STEPS + 1)} | {
    "headers": headers, "first-run": first_run}


# The overview: three simulators as named endpoints, one of them failing every call. Fixed
# ports, so that the rows' hosts are the same on every run (no other test uses them).
OVERVIEW = {"openai": (47811, SimConfig(limits=Limits(rpm=30, tpm=6_000))),
            "groq": (47812, SimConfig(limits=Limits(rpm=200, tpm=6_000), dialect="groq")),
            "flaky": (47813, SimConfig(faults={"500": 1.0}))}


@contextmanager
def overview_app(deterministic: bool = True) -> Iterator[RateLimitApp]:
    """The dashboard on every endpoint of OVERVIEW, polling each every 10 s: each polls once,
    then its next poll waits for a release that the scene never gives."""
    clock = ScriptedTime(hold=True)
    sims = {}
    with ports_held():
        try:
            for name, (port, config) in OVERVIEW.items():
                config.latency_ms, config.tokens_per_s, config.clock = 0.0, 0.0, clock
                sims[name] = EmbeddedSimulator(config, port=port).start()
            endpoints = [Settings(name=name, base_url=sim.base_url, poll_s=10.0, history=False)
                         for name, sim in sims.items()]
            yield make_app(endpoints, clock=clock, sleep=clock.sleep, **fixed(deterministic))
        finally:
            for sim in sims.values():
                sim.stop()


@contextmanager
def ports_held() -> Iterator[None]:
    """OVERVIEW's ports are fixed (its snapshot shows them): one overview scene at a time on
    this machine, whichever checkout's tests or screenshots run it."""
    with open(Path(tempfile.gettempdir()) / "ratelimit-tui-overview-ports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


async def overview(pilot) -> None:
    """A minute and a half of use on two endpoints, seen from the overview."""
    app = pilot.app
    deadline = time.monotonic() + 20
    while any(s.facts.last_response_at is None for s in app.sessions.values()):
        if time.monotonic() > deadline:
            raise TimeoutError("the first polls did not come")
        await asyncio.sleep(0.02)
    await pilot.press("1")
    for step in range(7):
        app.clock.now += 15
        for name, calls in (("openai", 2 + step % 3), ("groq", 1 + (step * 5) % 7)):
            app.select(name)
            await finished(app.burst(calls))
    app.select("openai")
    await finished(app.burst(12))
    await pilot.press("f4")
    await pilot.pause()


async def finished(worker) -> None:
    """Until a worker is done (its responses' messages are handled by the next pause)."""
    await worker.wait()
