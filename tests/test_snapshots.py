"""Screens of the real dashboard on the embedded simulator, on a scripted clock: each must match
its SVG in tests/__snapshots__. After an intended change: pytest --snapshot-update."""

import time

import pytest
from pytest_textual_snapshot import SVGImageExtension
from scenes import (
    SCENES,
    SIZES,
    TOUR_STEPS,
    next_step,
    overview,
    overview_app,
    play_step,
    settle,
    tour_app,
)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The plot's time axis and the log's stamps are local times: make them the same here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.long
async def test_the_tour_step_by_step(snapshot):
    """A picture per step of the demo tour, as a first run of `demo --tour` shows it, taken in
    one play-through (a step's scene alone replays the steps before it: the screenshots' way)."""
    pictures = snapshot.use_extension(SVGImageExtension)
    app = tour_app()
    async with app.run_test(size=SIZES["wide"]) as pilot:
        await settle(pilot, drawn=False)
        for number in range(1, TOUR_STEPS + 1):
            if number > 1:
                await next_step(pilot)
            await play_step(pilot)
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            assert pictures(name=f"tour-{number}-wide") == app.export_screenshot(title=app.title)


def test_a_first_run(snap_compare):
    """What `ratelimit-tui` shows with no key, the README's first picture."""
    assert snap_compare(tour_app(tour=None), run_before=SCENES["first-run"],
                        terminal_size=SIZES["wide"])


@pytest.mark.long
def test_tour_at_80_by_24(snap_compare):
    assert snap_compare(tour_app(), run_before=SCENES["tour-4"], terminal_size=SIZES["narrow"])


@pytest.mark.parametrize("size", ["narrow"])
def test_overview(snap_compare, size):
    with overview_app() as app:
        assert snap_compare(app, run_before=overview, terminal_size=SIZES[size])
