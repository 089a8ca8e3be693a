"""The demo tour: its script on a clock, and played in the real dashboard on the embedded
simulator, on a scripted clock (its keys, its acts, its caption)."""

import pytest
from scenes import SIZES, play_step, settle, tour_app
from tui_helpers import log_text

from ratelimit_tui.core.quota import QuotaState
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.tui.tour import Act, Step, Tour, tour_steps

STEPS = (Step("one", 10, "first", (Act(0, "probe"), Act(4, "burst", 3))),
         Step("two", 5, "second", (Act(1, "chat", "hi"),)))


def test_acts_come_due_once_each_at_their_time():
    tour = Tour(STEPS)
    tour.begin(100.0)
    assert [a.kind for a in tour.due(100.0)] == ["probe"]
    assert tour.due(103.9) == []
    assert [a.kind for a in tour.due(104.0)] == ["burst"]
    assert tour.due(109.0) == []


def test_a_step_ends_on_time_and_the_tour_loops_or_ends():
    looping, once = Tour(STEPS, loop=True), Tour(STEPS, loop=False)
    for tour in (looping, once):
        tour.begin(0.0)
        assert not tour.advance(9.9)
        assert tour.advance(10.0) and tour.index == 1
        assert [a.kind for a in tour.due(11.0)] == ["chat"]
        assert tour.advance(15.0)
    assert looping.index == 0 and not looping.ended
    assert once.ended


def test_a_pause_stops_the_step_clock_and_a_skip_drops_the_rest_of_a_step():
    tour = Tour(STEPS)
    tour.begin(0.0)
    tour.due(0.0)
    tour.toggle_pause(2.0)
    assert tour.elapsed(50.0) == 2.0 and tour.due(50.0) == [] and not tour.advance(50.0)
    assert "paused" in tour.caption(QuotaState(), 50.0)
    tour.toggle_pause(50.0)  # the step goes on where it stopped: 2 s in
    assert tour.elapsed(52.0) == 4.0 and [a.kind for a in tour.due(52.0)] == ["burst"]
    tour.begin(60.0)
    tour.skip(61.0)  # the burst at 4 s never comes
    assert tour.index == 1 and tour.elapsed(61.0) == 0.0


def test_the_script_names_the_limits_it_runs_on():
    steps = tour_steps(Limits(rpm=30, tpm=6_000))
    assert sum(s.seconds for s in steps) == 90
    assert "30 requests and 6,000 tokens a minute" in steps[0].text
    assert "one every 2 s" in steps[-1].text


@pytest.mark.long
async def test_the_tour_plays_in_the_dashboard_with_its_keys_and_its_caption_agrees():
    app = tour_app()
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await settle(pilot, drawn=False)
        assert app.focused is None  # its keys must not go into the chat input
        caption = app.caption
        assert "Tour 1/6 · A calm start" in str(caption.render())
        await play_step(pilot)
        await pilot.press("n")  # teammates: their tokens come out of this key's buckets
        await play_step(pilot)
        tokens = app.session.quota.get("tokens").bucket
        assert tokens.remaining < tokens.limit - 1200  # the second charge, a second before
        await pilot.press("n")  # the burst drains the requests bucket
        await play_step(pilot)
        requests = app.session.quota.get("requests")
        assert requests.bucket.remaining == 0
        text = str(caption.render())
        assert "Tour 3/6 · A burst" in text
        assert "The binding limit is now requests / min: 0 of 30 left, next in " in text
        gauge = next(iter(app.quota_panel.gauges.values()))
        assert "0 / 30" in str(gauge.text) and "next in" in str(gauge.text)
        await pilot.press("n")  # throttled: the question meets a 429 and a visible retry
        await play_step(pilot)
        assert any(w >= 0.5 for w in app.clock.waits)  # the retry waited the server's wait
        app.chat.input.focus()  # as a browser gives it back: the tour's keys still work
        await pilot.press("space")
        assert app.tour_player.tour.paused and "(paused: space goes on)" in str(caption.render())
        assert app.chat.input.value == "" and app.active_bindings["space"].binding.description \
            == "Resume"
        app.clock.now += 60
        app.tick()
        assert app.tour_player.tour.index == 3  # no step moves while paused
        await pilot.press("space", "n")  # failures: a proxy's 503 on a probe, a cut answer
        await play_step(pilot)
        log = log_text(app)
        assert "server error 503" in log and "HTML error page" in log
        assert "dropped mid-answer" in log
        answer = app.chat.transcript.query(".answer").last()
        assert "the partial answer is kept" in str(answer.meta.render())
        await pilot.press("q")  # ordinary demo mode: the keys type again
        assert app.tour_player is None and not caption.display
        await pilot.press("n")
        assert app.chat.input.value == "n"


async def test_once_ends_in_demo_mode_after_the_last_step():
    app = tour_app()  # tour="once"
    async with app.run_test(size=SIZES["narrow"]) as pilot:
        await settle(pilot, drawn=False)
        for _ in range(5):
            await pilot.press("n")
        tour = app.tour_player.tour
        assert tour.index == 5
        app.clock.now += tour.step.seconds
        app.tick()
        await pilot.pause()
        assert app.tour_player is None and app.focused is app.chat.input
        log = log_text(app)
        assert "the tour ended: this is ordinary demo mode" in log


async def test_a_short_terminal_gets_the_captions_title_and_figures_alone():
    app = tour_app()
    async with app.run_test(size=(60, 16)) as pilot:
        await settle(pilot, drawn=False)
        await pilot.press("n", "n")
        await play_step(pilot)
        text = str(app.caption.render())
        assert text.startswith("Tour 3/6 · A burst. The binding limit is now requests / min")
        assert "40 minimal calls" not in text  # the gauges keep their rows
        assert app.quota_panel.region.height >= 3


async def test_what_is_painted_together_reads_one_instant():
    import asyncio

    from ratelimit_tui.tui.instant import FrameClock

    ticks = iter(range(100))
    painted = FrameClock(lambda: float(next(ticks)))
    assert painted() == painted() == 0.0  # the gauges and the caption, in one turn
    turn = asyncio.get_running_loop().create_future()  # the next turn of the loop: no time
    asyncio.get_running_loop().call_soon(turn.set_result, None)
    await turn
    assert painted() == 1.0  # the next turn: the next instant
    painted.new_instant()
    assert painted() == 2.0


async def test_the_footer_is_built_again_only_when_its_keys_change():
    from textual.widgets._footer import FooterKey

    from ratelimit_tui.tui.widgets.footer import Footer

    app = tour_app()
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await settle(pilot, drawn=False)
        footer = app.screen.query_one(Footer)
        keys = list(footer.query(FooterKey))
        assert "Pause" in [key.description for key in keys]
        app.screen.refresh_bindings()  # the same keys: they stay as they are
        await pilot.pause()
        assert list(footer.query(FooterKey)) == keys
        await pilot.press("space")
        await pilot.pause()
        descriptions = [key.description for key in footer.query(FooterKey)]
        assert "Resume" in descriptions and "Pause" not in descriptions
