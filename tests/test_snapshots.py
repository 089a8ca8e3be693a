"""Screens of the real dashboard on the embedded simulator, on a scripted clock: each must match
its SVG in tests/__snapshots__. After an intended change: pytest --snapshot-update."""

import time

import pytest
from scenes import SCENES, SIZES, TOUR_STEPS, overview, overview_app, tour_app


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The plot's time axis and the log's stamps are local times: make them the same here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("scene, size", [
    *((f"tour-{n}", "wide") for n in range(1, TOUR_STEPS + 1)), ("tour-4", "narrow")])
def test_tour(snap_compare, scene, size):
    """A picture per step of the demo tour, as a first run of `demo --tour` shows it."""
    assert snap_compare(tour_app(), run_before=SCENES[scene], terminal_size=SIZES[size])


@pytest.mark.parametrize("size", ["narrow"])
def test_overview(snap_compare, size):
    with overview_app() as app:
        assert snap_compare(app, run_before=overview, terminal_size=SIZES[size])
