"""Screens of the real dashboard on the embedded simulator, on a scripted clock: each must match
its SVG in tests/__snapshots__. After an intended change: pytest --snapshot-update."""

import time

import pytest
from scenes import SCENES, SIZES, overview, overview_app, scene_app


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The plot's time axis and the log's stamps are local times: make them the same here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("scene, size", [("start", "wide"), ("chat", "wide"), ("burst", "wide"),
                                         ("start", "narrow"), ("chat", "narrow")])
def test_scene(snap_compare, scene, size):
    assert snap_compare(scene_app(), run_before=SCENES[scene], terminal_size=SIZES[size])


@pytest.mark.parametrize("size", ["narrow"])
def test_overview(snap_compare, size):
    with overview_app() as app:
        assert snap_compare(app, run_before=overview, terminal_size=SIZES[size])
