"""The dashboard's start: what the first gauge waits for, and what it does not."""

from __future__ import annotations

import subprocess
import sys
import time

from textual import events
from textual.app import App
from textual.geometry import Size
from tui_helpers import demo_app, ready, wait_until

from ratelimit_tui.config import load_settings
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.widgets.eventlog import EventLog
from ratelimit_tui.tui.widgets.panels import EventsSoFar


def settle_spy(app) -> list:
    """What the app had when its `settle` first ran: its client, and an answer or none."""
    seen = []
    settle = app.settle

    def spying() -> None:
        if not app.settled:
            seen.append((app.session.client is not None, app.session.last_observed))
        settle()

    app.settle = spying
    return seen


def demo_note(app) -> bool:
    return any("Demo mode" in str(note.render()) for note in app.chat.transcript.query(".note"))


async def test_the_plot_and_the_demo_note_wait_until_the_first_poll_is_on_its_way():
    """The first gauge waits for the first poll's answer: what it does not need is done while
    the endpoint answers (here in 300 ms), not before the request is sent."""
    app = demo_app(load_settings({"demo": True}, env={}), latency_ms=300.0)
    seen = settle_spy(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.session.last_observed is not None, what="an answer")
        await wait_until(pilot, lambda: app.plot._plot is not None, what="the plot")
        assert seen == [(True, None)]  # the client was made, its first answer not yet back
        assert demo_note(app)


async def test_without_polling_they_come_with_the_client():
    app = demo_app()  # polling off: no call goes out at the start
    seen = settle_spy(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert seen == [(True, None)] and app.plot._plot is not None and demo_note(app)


async def test_a_first_poll_that_cannot_be_sent_does_not_hold_the_plot(unused_tcp_port):
    settings = load_settings({"base_url": f"http://127.0.0.1:{unused_tcp_port}/v1",
                              "poll_s": "10"}, env={"OPENAI_API_KEY": "sk-test"})
    app = make_app(settings)  # the connection is refused: no request is ever written
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.plot._plot is not None, what="the plot")


async def test_a_size_the_terminal_reports_again_lays_nothing_out_again():
    """tmux reports the size again as the dashboard starts; Textual would send it on to the
    screen, which lays out and paints everything again."""
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        sent = []
        post = app.screen.post_message
        app.screen.post_message = lambda message: (sent.append(message), post(message))[1]

        def sizes() -> set[Size]:
            return {message.size for message in sent if isinstance(message, events.Resize)}

        app.post_message(events.Resize(Size(120, 36), Size(120, 36)))
        await pilot.pause()  # the app idles here: where Textual sent its size on to the screen
        app.post_message(events.Resize(Size(100, 30), Size(100, 30)))
        await wait_until(pilot, lambda: Size(100, 30) in sizes(), what="the new size")
        assert sizes() == {Size(100, 30)}


async def test_a_small_terminal_is_drawn_narrow_from_the_first_frame():
    """The screen has its size classes when it is made: Textual would set them at its first
    Resize, after the first frame, which showed a small terminal the wide layout first."""
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert {"-narrow", "-short"} <= app.get_default_screen().classes
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert {"-wide", "-tall"} <= app.get_default_screen().classes


async def test_what_is_said_before_the_event_log_is_made_shows_first_with_its_time():
    """The log comes right after the first frame; a key pressed sooner (a choice that could
    not be kept, a command refused) is said all the same, at its time."""
    so_far = EventsSoFar(lambda: time.mktime((2026, 12, 2, 9, 15, 0, 0, 0, -1)))
    so_far.add("cannot keep your choices: read-only", "yellow")
    so_far.display = False  # F2 was pressed: the headers panel shows in its place
    log = EventLog(lambda: time.mktime((2026, 12, 2, 9, 16, 0, 0, 0, -1)), so_far)
    assert not log.display  # as F2 left it
    log.add("now")
    async with App().run_test() as pilot:
        log.display = True  # shown here, to be laid out and so write its lines
        await pilot.app.mount(log)
        await wait_until(pilot, lambda: len(log.lines) == 2, what="both entries")
        assert [line.text for line in log.lines] == [
            "09:15:00 cannot keep your choices: read-only", "09:16:00 now"]


def test_the_event_log_loads_without_attrs_which_it_never_prints():
    """rich.pretty (under Textual's RichLog) would import attrs, where the [serve] extra
    installed it: 13 ms."""
    code = ("import importlib.util, sys\n"
            "installed = importlib.util.find_spec('attr') is not None\n"
            "import ratelimit_tui.tui.widgets.eventlog\n"
            "print('attr' in sys.modules)\n"
            "print(not installed or __import__('attr').__name__ == 'attr')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]  # not loaded, and still importable
