"""The real dashboard, driven by Pilot against the embedded simulator over HTTP."""

from __future__ import annotations

import dataclasses
import html
import re
import time

import pytest
from scenes import ScriptedTime
from textual import events
from textual.app import App
from tui_helpers import (
    demo_app,
    finished,
    log_text,
    press_key,
    probe,
    ready,
    send,
    type_text,
    wait_until,
)

from ratelimit_tui.config import load_settings
from ratelimit_tui.core.events import Outcome
from ratelimit_tui.core.format import compact_duration
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.messages import CallFinished, QuotaUpdated, RetryWaiting
from ratelimit_tui.tui.widgets.chat import ChatInput, Transcript
from ratelimit_tui.tui.widgets.eventlog import EventLog
from ratelimit_tui.tui.widgets.panels import EventsSoFar, LastResponse, StatusLine


def screen_text(app) -> str:
    """What the screen shows, as text (the SVG screenshot, unescaped)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def recorder():
    messages = []
    return messages, messages.append


async def test_a_message_moves_the_gauges_and_is_answered():
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "What is my quota?")
        (record,) = await finished(pilot, messages)
        assert record.ok and "What is my quota?" in record.text
        kinds = [type(m).__name__ for m in messages if isinstance(m, QuotaUpdated | CallFinished)]
        assert kinds.index("QuotaUpdated") < kinds.index("CallFinished")
        await pilot.pause()
        gauges = app.quota_panel.gauges
        assert gauges["requests"].state.bucket.remaining == 19
        rendered = gauges["tokens"].text.plain
        assert "tokens / min" in rendered and "/ 4,000" in rendered
        transcript = app.query_one(Transcript)
        assert "What is my quota?" in str(transcript.children[-2].render())
        assert "tokens (" in str(app.query_one(".answer .meta").render())
        assert app.query_one(StatusLine).render().plain.count("● live") == 1


async def test_gauges_move_at_the_first_byte_not_the_end():
    messages, hook = recorder()
    app = demo_app(tokens_per_s=40.0)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "stream please")
        await wait_until(pilot, lambda: any(isinstance(m, QuotaUpdated) for m in messages))
        await pilot.pause(0.05)  # not pause(): that waits for idle, i.e. the end of the stream
        assert not any(isinstance(m, CallFinished) for m in messages)  # still streaming
        assert app.quota_panel.gauges["requests"].state.bucket.remaining == 19
        await finished(pilot, messages)


async def test_escape_cancels_and_keeps_the_partial_answer():
    messages, hook = recorder()
    app = demo_app(tokens_per_s=20.0)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "a long answer please")
        await wait_until(pilot, lambda: any(len(m.source) > 10  # once the answer is there
                                            for m in app.query(".answer Markdown")))
        await pilot.press("escape")
        (record,) = await finished(pilot, messages)
        assert record.outcome == Outcome.CANCELLED and record.text
        await wait_until(pilot, lambda: "cancelled" in str(app.query_one(".answer .meta")
                                                             .render()))
        shown = app.query_one(".answer Markdown").source
        assert shown.startswith(record.text.rstrip(" *"))  # the partial text, closed
        assert "cancelled: cancelled" not in str(app.query_one(".answer .meta").render())


async def test_burst_drains_the_limit_into_429s_and_the_plot():
    messages, hook = recorder()
    app = demo_app(limits=__import__("ratelimit_tui.sim.limiter").sim.limiter.Limits(5, 4000))
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 12")
        records = await finished(pilot, messages, kind="burst", count=12)
        assert sum(r.status == 429 for r in records) == 7
        await wait_until(pilot, lambda: "burst of 12" in log_text(app))
        assert "burst of 12: 5 ok, 7× 429" in log_text(app)
        assert app.quota_panel.gauges["requests"].state.bucket.remaining == 0
        assert app.session.history.throttles(300.0, time.time())
        await pilot.pause()
        assert "next in" in app.quota_panel.gauges["requests"].text.plain
    # Closing, Textual removes the screens before it stops the app's timers: the tick and the
    # plot's redraw the burst left pending must do nothing then (ScreenStackError, once).
    assert not app.screen_stack and not app.is_running
    app.tick()
    app.redraw_plot()


async def test_429_retry_is_shown_waits_what_it_was_told_and_succeeds():
    from ratelimit_tui.sim.limiter import Limits

    messages, hook = recorder()
    scripted = ScriptedTime(hold=True)  # the retry's wait lasts until the test releases it
    app = demo_app(scripted=scripted, limits=Limits(rpm=1, tpm=4000))
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "one")
        await finished(pilot, messages)
        await send(pilot, "two")
        await wait_until(pilot, scripted.waiting, what="the retry's wait")
        await pilot.pause()
        assert "requests has no room yet" in log_text(app)
        (retry,) = [m.retry for m in messages if isinstance(m, RetryWaiting)]
        assert retry.wait_s >= 60.0  # the simulator's retry-after: one request a minute
        status = app.query_one(StatusLine).render().plain
        assert "● retrying in 1m" in status and "● live" not in status
        assert f"retrying in {compact_duration(retry.wait_s)} (attempt 2" in log_text(app)
        scripted.release()
        records = await finished(pilot, messages, count=2)
        assert records[1].ok and records[1].throttled == 1
        assert scripted.waits == [retry.wait_s]
        await pilot.pause()
        assert "● live" in app.query_one(StatusLine).render().plain


async def test_a_burst_on_a_reasoning_model_has_one_refused_request_not_one_each():
    """o4-mini refuses max_tokens: the burst's first call learns it for the others."""
    messages, hook = recorder()
    app = demo_app(load_settings({"demo": True, "poll_s": "off", "model": "o4-mini"}, env={}))
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        served = app.sim.simulator.requests_served
        await send(pilot, "/burst 6")
        records = await finished(pilot, messages, kind="burst", count=6)
        assert all(r.ok for r in records)
        assert app.sim.simulator.requests_served - served == 7  # one 400, then 6 answered


async def test_a_burst_of_200_leaves_the_input_responsive():
    messages, hook = recorder()
    app = demo_app(latency_ms=400.0)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 200")
        chat_input = app.query_one(ChatInput)
        for key in "typing":  # straight to the input: pilot.press would wait for the burst
            chat_input.post_message(events.Key(key, key))
        await wait_until(pilot, lambda: chat_input.value == "typing", timeout=5)
        done = [m for m in messages if isinstance(m, CallFinished)]
        assert len(done) < 200, "the keys were handled only after the burst"
        await finished(pilot, messages, kind="burst", count=200)


async def test_the_demo_answers_an_unknown_model_as_openai_does():
    """The model asked for is the one called and shown: the simulator's 404 says it is unknown,
    where the demo once put gpt-4o-mini in its place and said nothing."""
    messages, hook = recorder()
    app = demo_app(load_settings({"demo": True, "poll_s": "off", "model": "foo-model"}, env={}))
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "hello")
        (record,) = await finished(pilot, messages)
        assert (record.outcome, record.model) == (Outcome.NOT_FOUND, "foo-model")
        await pilot.pause()
        assert "unknown model 'foo-model'" in log_text(app)
        status = app.query_one(StatusLine).render().plain
        assert "foo-model" in status and "gpt-4o-mini" not in status


def no_retries(**flags):
    settings = load_settings(flags, env={"OPENAI_API_KEY": "sk-test"})
    return dataclasses.replace(settings, max_retries=0)


@pytest.mark.parametrize("fault, outcome, phrase", [
    ("401", Outcome.AUTH, "key was rejected"),
    ("500", Outcome.SERVER, "server error 500"),
    ("503", Outcome.SERVER, "HTML error page"),
    ("refused", Outcome.CONNECTION, "connection refused"),
])
async def test_failures_show_in_the_log_and_keep_the_transcript(fault, outcome, phrase,
                                                                 unused_tcp_port):
    messages, hook = recorder()
    if fault == "refused":
        app = make_app(no_retries(base_url=f"http://127.0.0.1:{unused_tcp_port}/v1"))
    else:
        app = demo_app(no_retries(demo=True, poll_s="off"), faults={fault: 1.0})
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "first words")
        (record,) = await finished(pilot, messages)
        assert record.outcome == outcome
        await pilot.pause()
        assert phrase in log_text(app)
        assert "● error" in app.query_one(StatusLine).render().plain
        assert "first words" in str(app.query_one(".user").render())
        assert "tokens" not in str(app.query_one(".answer .meta").render())  # no answer
        assert app.is_running


async def test_a_cut_answer_says_its_tokens_are_unknown():
    """The stream dropped before its usage came: the meta line says so, not nothing."""
    messages, hook = recorder()
    app = demo_app(no_retries(demo=True, poll_s="off"), faults={"cut": 1.0})
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "first words")
        (record,) = await finished(pilot, messages)
        assert (record.outcome, record.usage) == (Outcome.CUT, None) and record.text
        await pilot.pause()
        meta = str(app.query_one(".answer .meta").render())
        assert meta.startswith("tokens n/a · ") and "cut: " in meta


async def test_garbage_headers_are_reported_once_and_nothing_breaks():
    messages, hook = recorder()
    app = demo_app(faults={"garbage": 1.0})
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        for text in ("one", "two"):
            await send(pilot, text)
            await finished(pilot, messages, count=1 if text == "one" else 2)
        await pilot.pause()
        assert log_text(app).count("unreadable") == 1
        assert "n/a" in app.quota_panel.gauges["requests"].text.plain


async def test_commands_and_input_history():
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "/model sim-echo")
        assert app.session.client.model == "sim-echo"
        assert "sim-echo" in app.query_one(StatusLine).render().plain
        await send(pilot, "/poll 2")
        assert app.session.poll_s == 2.0 and "poll 2s" in app.query_one(StatusLine).render().plain
        await finished(pilot, messages, kind="probe")
        await send(pilot, "/poll off")
        assert app.session.poll_s is None
        await send(pilot, "/nonsense")
        assert "unknown command /nonsense" in log_text(app)
        await send(pilot, "hello")
        await finished(pilot, messages)
        await send(pilot, "/clear")
        await pilot.pause()
        assert not app.query_one(Transcript).children and app.session.conversation == []
        await pilot.press("up")
        assert app.query_one(ChatInput).value == "/clear"
        await pilot.press("up", "up")
        assert app.query_one(ChatInput).value == "/nonsense"
        await send(pilot, "/help")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_last_response_panel_redacts_sensitive_headers():
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await probe(pilot, messages)
        await pilot.press("f2")
        await pilot.pause()
        panel = app.query_one(LastResponse)
        assert panel.display
        shown = app.export_screenshot()
        panel.scroll_end(animate=False)
        await pilot.pause()
        shown += app.export_screenshot()
        assert "x-ratelimit-remaining-requests" in shown and "x-request-id" in shown
        assert "org-sim-demo" not in shown and "proj_sim_demo" not in shown
        assert "sim-cookie" not in shown and "[redacted]" in shown
        assert "sk-demo-local" not in shown


async def test_too_small_terminal_says_so():
    app = demo_app()
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        assert app.query_one("#too-small").display
        assert "too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.query_one("#too-small").display


async def test_countdown_ticks_from_its_deadline():
    from tui_helpers import FROZEN

    from ratelimit_tui.sim.limiter import Limits

    now = [FROZEN]
    messages, hook = recorder()
    settings = load_settings({"demo": True, "poll_s": "off"}, env={})
    from ratelimit_tui.sim.server import SimConfig

    app = make_app(settings, clock=lambda: now[0], sim_config=SimConfig(
        limits=Limits(rpm=20, tpm=4000), latency_ms=0, tokens_per_s=0))
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await probe(pilot, messages)
        await pilot.pause()
        gauge = app.quota_panel.gauges["requests"]
        assert "resets in 3s" in gauge.text.plain  # 1 of 20 per minute
        now[0] += 2  # the app was busy for 2 s: the countdown is still right
        app.tick()
        assert "resets in 1s" in gauge.text.plain
        now[0] += 5
        app.tick()
        assert "full" in gauge.text.plain


async def test_history_continues_after_a_restart():
    messages, hook = recorder()
    first = demo_app()
    async with first.run_test(size=(120, 36), message_hook=hook) as pilot:
        await probe(pilot, messages)
    second = demo_app()
    first_frame = []  # what the requests gauge showed in it
    after_first_frame = second.after_first_frame

    def look() -> None:
        first_frame.append(second.quota_panel.gauges["requests"].text.plain)
        after_first_frame()

    second.after_first_frame = look
    async with second.run_test(size=(120, 36)) as pilot:
        # The first frame already has the last numbers, stale until a response of this run.
        await wait_until(pilot, lambda: first_frame, what="the first frame")
        gauge = second.quota_panel.gauges["requests"]
        assert gauge.state.stale and "stale" in first_frame[0]
        assert gauge.state.bucket == first.session.quota.get("requests").bucket
        await ready(pilot)
        assert second.plot.history is second.session.history
        assert second.session.history.series(300.0, time.time())["requests"]  # before any call


async def test_a_corrupt_history_file_does_not_stop_the_dashboard():
    from ratelimit_tui.locations import history_db

    path = history_db()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"definitely not sqlite " * 50)
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: "in memory only" in log_text(app))
        await send(pilot, "still works?")
        (record,) = await finished(pilot, messages)
        assert record.ok and app.session.history.version > 0
    assert path.read_bytes() == b"definitely not sqlite " * 50


@pytest.mark.long
async def test_one_answer_at_a_time_keeps_the_conversation_in_order():
    messages, hook = recorder()
    app = demo_app(tokens_per_s=50.0)  # the first answer streams for ~1 s
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "first")
        await wait_until(pilot, app.answering)
        await send(pilot, "second, too soon", when_free=False)
        assert app.chat.input.value == "second, too soon"  # kept, not sent
        (record,) = await finished(pilot, messages)
        assert record.ok
        await send(pilot, "second")
        await finished(pilot, messages, count=2)
        await wait_until(pilot, lambda: not app.answering(), what="the answer to end")
        roles = [(m["role"], m["content"][:6]) for m in app.session.conversation]
        assert roles[0] == ("user", "first") and roles[2] == ("user", "second")
        assert [r for r, _ in roles] == ["user", "assistant"] * 2


async def half_spent(pilot, messages):
    """A burst of 10 on the demo's 20 a minute, drawn: the requests gauge."""
    await ready(pilot)
    await send(pilot, "/burst 10")
    await finished(pilot, messages, kind="burst", count=10)
    await pilot.pause()
    return pilot.app.quota_panel.gauges["requests"]


async def test_a_tick_repaints_only_the_line_that_moved(monkeypatch):
    """Each second the countdown ticks, on the gauge's own line, with the count beside it
    from the same instant; the line that says the same (here the bar: 10 of 20 shown, 50%)
    is not repainted. An idle screen's CPU goes to what moves."""
    from ratelimit_tui.tui.widgets.gauges import BucketGauge

    messages, hook = recorder()
    scripted = ScriptedTime()
    app = demo_app(scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        gauge = await half_spent(pilot, messages)
        repainted = []  # each refresh's (first line, lines), or 'all': the whole gauge
        refresh = BucketGauge.refresh

        def spy(widget, *regions, **kwargs):
            if widget is gauge:
                repainted.append([(r.y, r.height) for r in regions] or "all")
            return refresh(widget, *regions, **kwargs)

        monkeypatch.setattr(BucketGauge, "refresh", spy)
        for left in (29, 28):
            scripted.advance(1)
            app.tick()
            line, bar = gauge.text.plain.split("\n")
            assert line.endswith(f"10 / 20  resets in {left}s") and bar.endswith(" 50%")
            await pilot.pause()
            assert repainted == [[(0, 1)]]  # the countdown's line, not the bar
            assert f"resets in {left}s" in screen_text(app)  # on screen, as written
            repainted.clear()


async def test_a_new_theme_repaints_the_gauges_in_its_colours():
    """A gauge keeps what it wrote until that changes, and a theme's change is one: even a
    full bucket's gauge, which nothing else redraws, takes the new theme's colours."""
    messages, hook = recorder()
    scripted = ScriptedTime()
    app = demo_app(scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await probe(pilot, messages)
        scripted.advance(120)
        app.tick()  # full: nothing moves, the ticker stops
        assert not app.needs_tick(scripted())
        gauge = app.quota_panel.gauges["requests"]
        before, after = app.theme_variables["success"], app.available_themes["nord"].success
        assert before != after and before in str(gauge.text.spans)
        app.theme = "nord"
        await wait_until(pilot, lambda: after in str(gauge.text.spans), what="the new colour")


async def test_every_figure_of_a_gauge_comes_from_the_same_instant():
    messages, hook = recorder()
    scripted = ScriptedTime()
    app = demo_app(scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        gauge = await half_spent(pilot, messages)
        assert gauge.text.plain.split("\n")[0].endswith("10 / 20  resets in 30s")
        scripted.advance(12)  # 20 a minute: 4 back
        app.tick()
        line, bar = gauge.text.plain.split("\n")
        assert "~14 / 20" in line and "resets in 18s" in line
        assert " 70%" in bar and "said 10, 12s ago" in bar  # 14 / 20, and what was said
        scripted.advance(60)
        app.tick()
        line, bar = gauge.text.plain.split("\n")
        assert "~20 / 20" in line and "full" in line and "100%" in bar
        assert "said 10 at " in bar  # an instant, not an age: a full gauge need not tick
        assert not app.needs_tick(scripted())


def test_a_gauge_label_says_the_same_as_its_countdown_shortens():
    from ratelimit_tui.core.headers import parse_rate_limit_headers
    from ratelimit_tui.core.quota import BucketState
    from ratelimit_tui.tui.widgets.gauges import BucketGauge

    t0 = 1_800_000_000.0
    state = BucketState(parse_rate_limit_headers({  # a fixed window: the figures stand still
        "x-ratelimit-limit": "60", "x-ratelimit-remaining": "10", "x-ratelimit-reset": "20"},
        t0).bucket("requests"), t0)
    gauge = BucketGauge("requests", lambda: t0)
    gauge.binding = True  # its mark, " ◆ binding" or " ◆", as the room allows
    for width in range(36, 60):  # "resets in 20s", then "resets in 8s"
        before, after = (gauge._figures(state, t0 + s, width).plain for s in (0, 12))
        assert before.endswith("10 / 60  resets in 20s") and after.endswith("resets in 8s")
        assert before.split("10 / 60")[0].rstrip() == after.split("10 / 60")[0].rstrip()


async def test_the_plot_window_ends_now_and_gaps_stay_gaps():
    messages, hook = recorder()
    scripted = ScriptedTime()
    app = demo_app(scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await probe(pilot, messages)
        await wait_until(pilot, lambda: app.plot.frame is not None and app.plot.frame.runs)
        scripted.advance(300)  # a pause with no calls, then more
        press_key(pilot, "f5")
        await finished(pilot, messages, kind="probe", count=2)
        scripted.advance(15 * 60)  # idle for 15 minutes: the 5-min window moves on
        app.plot.redraw()
        frame = app.plot.frame
        assert ends_now(app, 300) and not frame.runs  # nothing in the last 5 minutes
        assert "no rate-limit data yet" in drawing(app)
        app.plot.cycle_window()  # 1 h: both probes, with the pause between them a gap
        runs = app.plot.frame.runs["requests"]
        assert len(runs) == 2 and ends_now(app, 3600)
        assert "no rate-limit data yet" not in drawing(app)  # one figure, drawn again
        assert axis_times(app, 3600) >= 3  # 15-min ticks, each a time that has been


def axis_times(app, window: float) -> int:
    """How many times of day the plot's axis names, checking that each is within the window
    that ends now: none to come."""
    now = app.clock()
    labels = re.findall(r"(?<![\d;])(\d\d):(\d\d)(?!\d)", drawing(app).splitlines()[-1])
    for hours, minutes in labels:
        said = (*time.localtime(now)[:3], int(hours), int(minutes), 0, 0, 0, -1)
        latest = time.mktime(said)  # that time today, or yesterday if today's is to come
        latest -= 86400 if latest > now else 0
        assert now - window <= latest <= now, (hours, minutes, time.ctime(now))
    return len(labels)


def drawing(app) -> str:
    from ratelimit_tui.tui.widgets.canvas import PlotCanvas

    return "\n".join(app.query_one(PlotCanvas).rows)


def ends_now(app, window: float) -> bool:
    """The plot ends at the end of its column that holds now (so that a later redraw in the
    same column draws the same picture)."""
    frame, now = app.plot.frame, app.clock()
    column = window / max(10, app.plot.region.width - 10)
    return now <= frame.end < now + column and frame.start == frame.end - window


async def test_a_failing_poll_is_logged_once_and_the_status_leaves_live():
    messages, hook = recorder()
    scripted = ScriptedTime(hold=True)  # each wait between polls lasts until released
    app = demo_app(scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "/model gpt-5")
        await send(pilot, "/poll 10")
        await wait_until(pilot, scripted.waiting, what="the first poll")
        for polls in (2, 3):
            scripted.release()
            await finished(pilot, messages, kind="probe", count=polls)
            await wait_until(pilot, scripted.waiting, what="the next poll")
        await pilot.pause()
        assert log_text(app).count("unknown model 'gpt-5'") == 1  # three polls, one line
        assert "● error" in app.query_one(StatusLine).render().plain
        await send(pilot, "/model gpt-4o-mini")
        scripted.release()
        await finished(pilot, messages, kind="probe", count=4)
        await wait_until(pilot, lambda: "polling works again" in log_text(app))
        assert "● live" in app.query_one(StatusLine).render().plain
        press_key(pilot, "f5")  # F5 always says what it found
        await finished(pilot, messages, kind="probe", count=5)
        await wait_until(pilot, lambda: "probe: 200 in" in log_text(app))
        assert "requests 1" in log_text(app).split("probe: 200 in")[-1]


async def test_no_plain_letter_quits_and_a_resize_gives_the_focus_back():
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.resize_terminal(60, 15)  # too small: the input is hidden
        await pilot.pause()
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        await pilot.pause()
        assert app.focused is app.chat.input
        await type_text(pilot, "quick question")
        assert app.is_running and app.chat.input.value == "quick question"


async def test_at_60_by_16_every_limit_has_its_line_and_the_answer_has_rows():
    from ratelimit_tui.tui.widgets.gauges import BucketGauge

    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(60, 16), message_hook=hook) as pilot:
        await probe(pilot, messages)
        await send(pilot, "a question on a small screen")
        await finished(pilot, messages)
        await pilot.pause()
        inside = app.quota_panel.content_region  # within its frame: not scrolled out of it
        shown = {g.bucket_id for g in app.query(BucketGauge) if inside.contains_region(g.region)}
        assert shown == {"requests", "tokens"}  # the panel has no "… and more" to fall back on
        transcript, box = app.chat.transcript.region, app.chat.input.region
        assert transcript.height >= 3 and transcript.bottom <= box.y


async def test_f3_with_the_plot_hidden_says_what_it_did_and_where_the_plot_is():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert not app.plot.display
        await pilot.press("f3")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert said == ["History window: 1 h (the plot appears when the terminal has 40 "
                        "rows, or 110 columns)"]
        await pilot.resize_terminal(80, 40)
        await pilot.pause()
        await pilot.press("f3")  # now seen in the plot's title: nothing to say
        await pilot.pause()
        assert app.plot.display and len(app._notifications) == 1
        assert "History · 24 h" in app.plot.border_title


@pytest.mark.parametrize("size", [(80, 24), (60, 16), (100, 30), (80, 40)])
async def test_the_input_stays_visible_with_the_headers_panel_open(size):
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=size, message_hook=hook) as pilot:
        await probe(pilot, messages)
        await pilot.press("f2")
        await pilot.pause()
        chat, box = app.chat.region, app.chat.input.region
        assert app.last_response.region.height >= 5  # the panel shows some headers
        rows = 1 if size[1] < 20 else 3  # under 20 rows the input has no frame of its own
        assert box.height == rows and chat.y < box.y and box.bottom < chat.bottom
        assert box.bottom <= size[1] - 1  # above the footer
        if size == (80, 40):  # the README: one column shows the plot from 40 rows
            assert app.plot.display and app.plot.region.height >= 8


async def test_the_event_log_stays_at_its_newest_entry_after_a_resize():
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        for n in range(40):
            app.events.add(f"event number {n} with enough words to wrap at a narrow width")
        await pilot.pause()
        for size in ((80, 24), (120, 36)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            assert app.events.scroll_y == app.events.max_scroll_y > 0


async def test_up_then_down_gives_back_the_draft_and_bad_commands_clear_the_input():
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await send(pilot, "/poll off")
        chat_input = app.chat.input
        await send(pilot, "/burst lots")
        assert chat_input.value == ""
        assert "/burst needs a number of calls" in log_text(app)
        await type_text(pilot, "half a thought")
        await pilot.press("up")
        assert chat_input.value == "/burst lots"
        await pilot.press("up", "down", "down")
        assert chat_input.value == "half a thought"


async def test_wording():
    from ratelimit_tui.core.format import plural

    assert (plural(1, "call"), plural(2, "call")) == ("1 call", "2 calls")
    messages, hook = recorder()
    app = demo_app()
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 1")
        await finished(pilot, messages, kind="burst")
        await wait_until(pilot, lambda: "burst of 1:" in log_text(app))
        assert "burst: 1 minimal call at once" in log_text(app)
        assert "1 minimal calls" not in log_text(app)


async def test_demo_mode_polls_at_once_when_ready_then_waits_its_interval():
    """The first gauge of a first run comes from the first poll: it must not wait a period."""
    messages, hook = recorder()
    scripted = ScriptedTime(hold=True)
    app = demo_app(load_settings({"demo": True}, env={}), scripted=scripted)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await scripted.held()  # the poll's first wait
        (record,) = await finished(pilot, messages, kind="probe")
        assert record.ok and scripted.waits == [10.0]  # the call, then the wait: not after
        await pilot.pause()
        assert "requests / min" in app.quota_panel.gauges["requests"].text.plain


async def test_the_event_log_wraps_its_lines_again_to_a_new_width():
    """RichLog wraps a line to the width it has when written: at 60 columns the lines written
    at 80 were cut off at the right, and wider, they kept the narrower wrapping."""
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: "demo: the built-in simulator is serving" in log_text(app))
        said = log_text(app)
        for size in ((60, 16), (160, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = app.events.scrollable_content_region.width
            assert all(line.cell_length <= width for line in app.events.lines)  # none cut off
            assert log_text(app).startswith(said)  # each entry whole, its time first
        # at 160 columns the demo's entry, two lines of 54 at 60 columns, has a longer first
        assert app.events.lines[0].cell_length > 54
        assert app.events.lines[0].text.startswith(said[:9])
        stamp = next(iter(app.events.lines[0]))
        assert stamp.text == said[:9] and stamp.style.dim  # the time keeps its style


async def test_the_event_log_keeps_the_entry_a_user_scrolled_up_to_in_view():
    events = EventLog(time.time, EventsSoFar(time.time))
    for n in range(40):
        events.add(f"event number {n} with enough words to wrap at a narrow width", "yellow")
    async with LogOnly(events).run_test(size=(80, 12)) as pilot:
        await wait_until(pilot, lambda: events.scroll_y == events.max_scroll_y > 0,
                         what="the newest entry in view")
        await pilot.resize_terminal(50, 12)  # two lines an entry
        await pilot.pause()
        assert events.scroll_y == events.max_scroll_y  # still at the newest
        tenth = next(y for y, line in enumerate(events.lines) if "event number 10 " in line.text)
        events.scroll_to(y=tenth + 1, animate=False, immediate=True)  # its second line on top
        for size in ((80, 12), (40, 12)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            top = events.lines[round(events.scroll_y)]
            assert "event number 10 " in top.text, top.text
            assert events.scroll_y < events.max_scroll_y  # not taken back to the newest


class LogOnly(App):
    def __init__(self, log: EventLog) -> None:
        super().__init__()
        self.events = log

    def compose(self):
        yield self.events
