"""Bounded in-memory quota history for the plot.

Each plot window keeps its own ring of fixed-width slots (1 s for 5 min, 10 s for 1 h, 5 min for
24 h), each holding the lowest share of quota left seen in it: memory stays flat however many
calls are recorded, and a redraw reads at most a few hundred points whatever the history length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# window seconds -> slot seconds
WINDOWS: dict[float, float] = {300.0: 1.0, 3600.0: 10.0, 86400.0: 300.0}


@dataclass(slots=True)
class _Slot:
    index: int
    low: float


class _Ring:
    """The lowest value per slot, for the last `size` slots."""

    def __init__(self, slot_s: float, size: int) -> None:
        self.slot_s = slot_s
        self.slots: deque[_Slot] = deque(maxlen=size)

    def add(self, t: float, value: float) -> None:
        index = int(t // self.slot_s)
        newest = self.slots[-1] if self.slots else None
        if newest is None or index > newest.index:
            self.slots.append(_Slot(index, value))
        elif index >= newest.index - 2:  # this slot, or a late response for a recent one
            newest.low = min(newest.low, value)
        else:  # far in the past: the clock stepped back; start again from here
            self.slots.clear()
            self.slots.append(_Slot(index, value))

    def points(self, since: float) -> list[tuple[float, float]]:
        first = since // self.slot_s
        return [(s.index * self.slot_s, s.low) for s in self.slots if s.index >= first]


class QuotaHistory:
    """Share of quota left per bucket over time, and the instants of 429s."""

    def __init__(self) -> None:
        self._series: dict[float, dict[str, _Ring]] = {w: {} for w in WINDOWS}
        self._throttles: dict[float, _Ring] = {
            w: _Ring(slot, int(w / slot) + 2) for w, slot in WINDOWS.items()}
        self.version = 0  # bumps on every change: the plot redraws only when it moved

    def add(self, t: float, bucket_id: str, fraction: float) -> None:
        for window, slot in WINDOWS.items():
            rings = self._series[window]
            ring = rings.get(bucket_id)
            if ring is None:
                ring = rings[bucket_id] = _Ring(slot, int(window / slot) + 2)
            ring.add(t, fraction)
        self.version += 1

    def add_throttle(self, t: float) -> None:
        for ring in self._throttles.values():
            ring.add(t, 0.0)
        self.version += 1

    def add_lowest_of(self, other: QuotaHistory, series_id: str) -> None:
        """Add, as one series, the lowest share of any bucket of `other` in each slot: what
        limited that endpoint (its binding share), for comparing endpoints."""
        for window, slot in WINDOWS.items():
            lows: dict[int, float] = {}
            for ring in other._series[window].values():
                for s in ring.slots:
                    lows[s.index] = min(s.low, lows.get(s.index, s.low))
            ring = self._series[window].setdefault(series_id,
                                                   _Ring(slot, int(window / slot) + 2))
            for index in sorted(lows):
                ring.add(index * slot, lows[index])
        self.version += 1

    def last_throttle(self) -> float | None:
        """The slot of the latest 429 (to the second within 5 minutes)."""
        for window in WINDOWS:
            slots = self._throttles[window].slots
            if slots:
                return slots[-1].index * WINDOWS[window]
        return None

    def series(self, window: float, now: float) -> dict[str, list[tuple[float, float]]]:
        since = now - window
        return {bucket_id: points for bucket_id, ring in self._series[window].items()
                if (points := ring.points(since))}

    def throttles(self, window: float, now: float) -> list[float]:
        return [t for t, _ in self._throttles[window].points(now - window)]


def downsample(points: list[tuple[float, float]], start: float, end: float,
               bins: int) -> list[tuple[float, float]]:
    """At most `bins` points over [start, end]: the lowest value in each bin (a limit's worst
    moment is what a plot of it must not lose), at the bin's middle."""
    if len(points) <= bins or end <= start:
        return points
    width = (end - start) / bins
    lows: dict[int, float] = {}
    for t, value in points:
        index = min(bins - 1, max(0, int((t - start) / width)))
        if index not in lows or value < lows[index]:
            lows[index] = value
    return [(start + (i + 0.5) * width, lows[i]) for i in sorted(lows)]


def gap_for(window: float, bins: int, poll_s: float | None = None) -> float:
    """Longer than this without a point is a gap in the data (a restart, a pause): a minute,
    or more where the data is coarser: three slots of the window, two columns of the plot,
    three polls."""
    return max(60.0, 3 * WINDOWS[window], 2 * window / bins, 3 * (poll_s or 0.0))


def split_at_gaps(points: list[tuple[float, float]],
                  gap_s: float) -> list[list[tuple[float, float]]]:
    """Runs of points with no gap longer than `gap_s` inside: a plot draws each as its own
    line, so that nothing is drawn across time with no data."""
    runs: list[list[tuple[float, float]]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= gap_s:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


@dataclass(frozen=True, slots=True)
class Frame:
    """What the plot draws for one window ending now: each bucket's runs of points (split at
    the gaps), and the 429s."""

    start: float
    end: float
    runs: dict[str, list[list[tuple[float, float]]]]
    throttles: list[float]


def frame(history: QuotaHistory, window: float, now: float, bins: int,
          poll_s: float | None = None) -> Frame:
    """At most `bins` points per bucket over the window that ends at `now`."""
    start = now - window
    gap_s = gap_for(window, bins, poll_s)
    runs = {bucket_id: split_at_gaps(downsample(points, start, now, bins), gap_s)
            for bucket_id, points in history.series(window, now).items()}
    throttles = [t for t, _ in downsample(
        [(t, 0.0) for t in history.throttles(window, now)], start, now, bins)]
    return Frame(start, now, runs, throttles)
