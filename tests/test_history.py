"""The plot's data: bounded rings, and frames that end now with gaps only where data is missing."""

import time

import pytest

from ratelimit_tui.core.format import clock_ticks
from ratelimit_tui.core.history import QuotaHistory, frame

T0 = 1_780_000_000.0


def history_of(times):
    history = QuotaHistory()
    for t in times:
        history.add(t, "requests", 0.5)
    return history


def test_steady_data_is_one_line_at_any_plot_width():
    steady = history_of(T0 - 3600 + 30 * i for i in range(120))  # every 30 s for an hour
    for bins in (20, 40, 56, 120):
        for window in (3600.0, 86400.0):
            assert len(frame(steady, window, T0, bins).runs["requests"]) == 1, (bins, window)


def test_slow_polling_is_a_line_and_a_pause_is_a_gap():
    polled = history_of(T0 - 290 + 120 * i for i in range(3))  # polled every 2 min
    assert len(frame(polled, 300.0, T0, 100).runs["requests"]) == 3  # a minute is a gap...
    assert len(frame(polled, 300.0, T0, 100, poll_s=120.0).runs["requests"]) == 1  # ...not here
    paused = history_of([T0 - 3000, T0 - 2990, T0 - 600, T0 - 590])
    assert len(frame(paused, 3600.0, T0, 56).runs["requests"]) == 2


def test_the_frame_ends_now_however_old_the_data():
    old = history_of([T0 - 1000])
    later = frame(old, 300.0, T0 + 900, 100)
    assert (later.start, later.end, later.runs) == (T0 + 600, T0 + 900, {})


@pytest.fixture
def local_zone(monkeypatch):
    """Sets the process's time zone for one test, and puts it back."""
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_axis_ticks_are_round_local_times_none_of_them_to_come(local_zone):
    local_zone("Asia/Kolkata")  # UTC+5:30: six-hour steps must still fall on 00, 06, 12, 18
    end = time.mktime((2026, 12, 2, 20, 7, 59, 0, 0, -1))
    day = clock_ticks(end - 86400, end, 21600.0)
    assert [label for _, label in day] == ["00:00", "06:00", "12:00", "18:00"]
    assert all(time.localtime(t)[3:6] == (int(label[:2]), 0, 0) for t, label in day)
    minutes = clock_ticks(end - 300, end, 60.0)
    assert [label for _, label in minutes] == ["20:03", "20:04", "20:05", "20:06", "20:07"]
    assert all(t <= end for t, _ in day + minutes)
    assert clock_ticks(end - 60, end - 1, 900.0) == []  # no quarter hour in that minute
