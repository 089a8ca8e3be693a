"""Several endpoints side by side: the overview lists each, a key opens one, chat goes to the
one shown, the plot compares them; a failing endpoint slows no other."""

from __future__ import annotations

import time

import pytest
from scenes import ScriptedTime
from test_tui import log_text, screen_text
from tui_helpers import send, wait_until

from ratelimit_tui.config import load_endpoints
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.overview import OverviewScreen


@pytest.fixture
def three(run_sim, tmp_path):
    """Three simulators as named endpoints, polling every 10 s on a scripted clock whose
    sleeps hold: each endpoint polls once, then waits."""
    # Scripted from today: the history keeps 7 days, and prunes what is older.
    clock = ScriptedTime(start=float(int(time.time())), hold=True)
    sims = {"alpha": run_sim(clock=clock, limits=Limits(rpm=60, tpm=10_000)),
            "beta": run_sim(clock=clock, limits=Limits(rpm=20, tpm=10_000), dialect="groq"),
            "down": run_sim(clock=clock, faults={"500": 1.0})}
    config = tmp_path / "config.toml"
    config.write_text("".join(f'[endpoints.{name}]\nbase_url = "{sim.base_url}"\npoll = 10\n'
                              for name, sim in sims.items()))
    endpoints = load_endpoints(None, {}, {}, config)
    return make_app(endpoints, clock=clock, sleep=clock.sleep), sims


def rows(app) -> dict[str, str]:
    return {row.endpoint: row.render().plain for row in app.screen.rows}


async def first_polls(pilot) -> None:
    await wait_until(pilot, lambda: all(
        s.facts.last_response_at is not None for s in pilot.app.sessions.values()),
        what="every endpoint's first poll")
    await pilot.pause()


async def test_the_overview_lists_every_endpoint_and_a_key_opens_one(three):
    app, sims = three
    async with app.run_test(size=(80, 24)) as pilot:
        await first_polls(pilot)
        assert isinstance(app.screen, OverviewScreen)  # the first screen, with several
        shown = rows(app)
        assert "alpha  ● live" in shown["alpha"] and "59 / 60" in shown["alpha"]
        assert "beta  ● live" in shown["beta"] and "tokens / min 9,991 / 10,000" in shown["beta"]
        assert "down  ● error" in shown["down"] and "its calls fail" in shown["down"]
        await pilot.press("2")
        assert not isinstance(app.screen, OverviewScreen) and app.session.name == "beta"
        assert f"beta ({sims['beta'].base_url.split('/')[2]})" in screen_text(app)
        await send(pilot, "hello beta")
        await wait_until(pilot, lambda: len(app.session.conversation) == 2, what="the answer")
        assert not app.sessions["alpha"].conversation  # chat went to the endpoint shown
        assert "down: polling: server error 500" in log_text(app)
        await pilot.press("f4")
        assert isinstance(app.screen, OverviewScreen)
        assert app.screen.focused is app.screen.rows[1]  # where it came from: beta
        await pilot.press("tab", "enter")  # the next row
        assert app.session.name == "down" and not isinstance(app.screen, OverviewScreen)
        await pilot.press("f4")
        await pilot.click(".endpoint-row")  # the first
        assert app.session.name == "alpha" and not isinstance(app.screen, OverviewScreen)


async def test_the_plot_compares_every_endpoint_s_binding_share(three):
    app, _ = three
    async with app.run_test(size=(120, 36)) as pilot:
        await first_polls(pilot)
        await pilot.press("1", "f6")
        assert app.plot.history is app.compare and "binding limit" in app.plot.border_title
        series = app.compare.series(300.0, app.clock())
        assert set(series) == {"alpha", "beta"}  # down never said a number
        assert series["alpha"][-1][1] == pytest.approx(59 / 60)
        await pilot.press("f6")
        assert app.plot.history is app.session.history


async def test_the_overview_scrolls_at_the_smallest_size(three):
    app, _ = three
    async with app.run_test(size=(60, 16)) as pilot:
        await first_polls(pilot)
        await pilot.press("tab", "tab")  # from the first row, focused on opening
        await pilot.pause()
        assert app.screen.focused is app.screen.rows[2]
        assert app.screen.rows[2].region.bottom <= 16  # scrolled into view


async def test_one_endpoint_shows_no_overview(run_sim):
    from tui_helpers import demo_app, ready

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f4", "f6")  # nothing to list or compare
        assert not isinstance(app.screen, OverviewScreen) and not app.comparing
        assert "Endpoints" not in screen_text(app)


def said(transcript) -> str:
    return " ".join(str(child.render()) for child in transcript.children)


async def test_a_chat_stuck_on_one_endpoint_holds_up_no_other(three):
    app, _ = three
    async with app.run_test(size=(120, 36)) as pilot:
        await first_polls(pilot)
        await pilot.press("3")  # down: every call a 500, retried after a wait that is held
        await send(pilot, "are you there?")
        await wait_until(pilot, lambda: app.sessions["down"].facts.retry_until is not None,
                         what="down's retry")
        await pilot.press("f4", "1")
        await send(pilot, "hello alpha")  # not refused: down's answer is down's business
        await wait_until(pilot, lambda: len(app.sessions["alpha"].conversation) == 2,
                         what="alpha's answer")
        assert "hello alpha" in said(app.transcripts["alpha"])
        assert "hello alpha" not in said(app.transcripts["down"])
        assert "are you there?" in said(app.transcripts["down"])
        assert app.chat.border_title.startswith("Chat · alpha")
        await pilot.press("escape")  # alpha has nothing running: down's retry goes on
        assert app.sessions["down"].facts.retry_until is not None


async def test_sparklines_and_the_last_429_come_back_after_a_restart(three):
    app, _ = three
    async with app.run_test(size=(80, 24)) as pilot:
        await first_polls(pilot)
        await pilot.press("2")
        await app.burst(25).wait()  # beta allows 20 a minute
        await pilot.pause()  # every call finished is handled: stored
    throttled = app.sessions["beta"].last_throttle_at
    assert throttled is not None
    again = make_app([s.settings for s in app.sessions.values()], clock=app.clock,
                     sleep=app.clock.sleep)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: again.session.client is not None, what="the client")
        assert again.sessions["beta"].last_throttle_at == int(throttled)  # to the second
        shares = again.compare.series(300.0, again.clock())
        assert {"alpha", "beta"} <= set(shares)  # the sparklines go on where they stopped


async def test_the_plot_under_the_overview_is_built_only_when_shown_again(three, monkeypatch):
    """The full view's plot follows the clock under the overview too, but builds nothing
    while it is covered (an idle overview's CPU); back on screen, it is built for now."""
    from ratelimit_tui.tui.widgets.canvas import PlotCanvas

    app, _ = three
    builds = []
    build = PlotCanvas._build
    monkeypatch.setattr(PlotCanvas, "_build", lambda canvas: builds.append(1) or build(canvas))
    async with app.run_test(size=(120, 40)) as pilot:
        await first_polls(pilot)
        await wait_until(pilot, lambda: app.plot._plot is not None, what="the plot")
        assert isinstance(app.screen, OverviewScreen)
        builds.clear()
        app.plot.set_window(3600.0)  # a redraw, under the overview
        await pilot.pause()
        assert not builds
        await pilot.press("1")
        await wait_until(pilot, lambda: builds, what="the plot built on screen")
        assert "1 h" in str(app.plot.border_title)
