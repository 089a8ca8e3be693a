"""Building the real app for tests: the embedded simulator, fast and deterministic."""

from __future__ import annotations

import asyncio
import time

from scenes import ScriptedTime
from textual import events

from ratelimit_tui.config import Settings, load_settings
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig
from ratelimit_tui.tui.app import RateLimitApp, make_app

FROZEN = 1_780_000_000.0  # 2026-05-28T20:26:40Z


def demo_app(settings: Settings | None = None, scripted: ScriptedTime | None = None,
             **sim) -> RateLimitApp:
    """The dashboard in demo mode on a quiet simulator: no latency, no teammates, no polling.
    With `scripted`, the app, its client and the simulator all run on that clock."""
    config = {"limits": Limits(rpm=20, tpm=4_000), "latency_ms": 0.0, "tokens_per_s": 0.0,
              **sim}
    settings = settings or load_settings({"demo": True, "poll_s": "off"}, env={})
    options = {}
    if scripted is not None:
        config["clock"] = scripted
        options = {"clock": scripted, "sleep": scripted.sleep}
    return make_app(settings, sim_config=SimConfig(**config), **options)


async def wait_until(pilot, predicate, timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until `predicate()` holds (no bare sleeps: machines are slow)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


async def ready(pilot) -> None:
    """The client is made, and what comes once its first call is out (settle) is done."""
    app = pilot.app
    await wait_until(pilot, lambda: app.session.client is not None and app.settled,
                     what="the client")


async def send(pilot, text: str, when_free: bool = True) -> None:
    """Type and submit a line (once the last answer is finished, unless `when_free` is off).
    Not pilot.press("enter"): press waits until the app is idle, which for a streamed answer
    is after its end."""
    if when_free:
        await wait_until(pilot, lambda: not pilot.app.answering(), what="the last answer")
    chat_input = pilot.app.query_one("#chat-input")
    chat_input.value = text
    await chat_input.action_submit()
    await pilot.pause(0.02)


async def type_text(pilot, text: str) -> None:
    """Type letters and spaces as the terminal sends them, to the app (so through its bindings)
    and on to the focused input, then wait until the input holds them. Not pilot.press(*text):
    after each key it waits until the whole process has been idle for 20 ms, 40 ms or more a
    key; these keys need no time between them, only their order (the app's queue keeps it)."""
    typed_into = pilot.app.focused
    expected = typed_into.value + text
    for char in text:
        pilot.app.post_message(events.Key("space" if char == " " else char, char))
    await wait_until(pilot, lambda: typed_into.value == expected, what=f"{text!r} typed")


def press_key(pilot, key: str) -> None:
    """A key as the terminal sends it, to the app (so through its bindings), for a caller that
    then waits on what the key does. Not pilot.press: after each key it waits until the whole
    process has been idle for 20 ms, 40 ms or more a key, besides the caller's own wait."""
    pilot.app.post_message(events.Key(key, None))


async def finished(pilot, messages, kind="chat", count=1):
    """Wait for `count` CallFinished messages of this kind, and for a chat, for its answer to
    be done (the message leaves with the call's end, before the answer shows its figures and
    an error is logged); return their records."""
    from ratelimit_tui.tui.messages import CallFinished

    def records():
        return [m.record for m in messages if isinstance(m, CallFinished)
                and m.record.kind == kind]

    def done() -> bool:
        return len(records()) >= count and (kind != "chat" or not pilot.app.answering())

    await wait_until(pilot, done, what=f"{count} {kind} call(s)")
    await asyncio.sleep(0)
    return records()


async def probe(pilot, messages):
    """Once the client is up, press F5 and wait for the probe to finish."""
    await ready(pilot)
    press_key(pilot, "f5")
    (record,) = await finished(pilot, messages, kind="probe")
    return record


def log_text(app) -> str:
    """The event log's text, wrapped lines joined again."""
    return " ".join(" ".join(str(line.text) for line in app.events.lines).split())
