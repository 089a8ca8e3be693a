"""The plot's data: bounded rings, and frames that end now with gaps only where data is missing."""

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
