"""One gauge per bucket: label with its window, a bar, remaining / limit, a ticking countdown."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ratelimit_tui.core.format import (
    compact_duration,
    count,
    countdown_text,
    plural,
    window_unit,
)
from ratelimit_tui.core.headroom import under
from ratelimit_tui.core.model import WindowSource
from ratelimit_tui.core.quota import BucketState, QuotaState
from ratelimit_tui.tui.widgets.lines import line_strip, refresh_changed

WAITING = "Waiting for the first response's rate-limit headers..."
LOW, CRITICAL = 0.5, 0.2  # shares of quota left below which a gauge turns warning / error


def bucket_label(state: BucketState) -> str:
    """'requests / min', 'project tokens / day', 'priority input tokens / min'."""
    b = state.bucket
    name = b.metric.replace("_", " ")
    if b.scope:
        name = f"{b.scope} {name}"
    inferred = b.window_source == WindowSource.INFERRED
    return f"{name} / {window_unit(b.window_s, inferred)}"


COUNTDOWN_CELLS = len("resets in 59s")


def countdown(state: BucketState, now: float) -> str:
    b = state.bucket
    if b.limit is None and b.remaining is None:
        return "n/a"
    left = state.reset_in(now)
    projected = state.projected_remaining(now)
    if left is None:
        return "reset n/a"
    if left <= 0 or (b.limit is not None and projected is not None and projected >= b.limit):
        return "full"
    if b.metric == "requests" and projected is not None and projected < 1:
        wait = state.wait_for(1, now)  # what an exhausted bucket's user wants to know
        if wait is not None:
            return f"next in {countdown_text(wait)}"
    return f"resets in {countdown_text(left)}"


def percent(share: float) -> str:
    """Rounded down: 99.9 % left is not yet 100 %."""
    return f"{math.floor(share * 100 + 1e-9)}%"


def moves(state: BucketState, now: float) -> bool:
    """Whether what a gauge shows of this bucket changes with time: a countdown, a refill and
    its age. A full or unknown bucket shows nothing that moves (see seen_note)."""
    return (state.reset_in(now) or 0) > 0


def seen_note(state: BucketState, now: float) -> str | None:
    """What the server last said, and when, for a gauge that shows a projection (or a bucket
    the last response did not confirm): 'said 12, 41s ago' while the bucket refills (the
    countdown ticks anyway), 'said 12 at 20:26:41' once it is full, so that an idle screen
    needs no tick to stay true."""
    _, projected = state.shown_remaining(now)
    if not projected and not state.stale:
        return None
    said = f"said {count(state.bucket.remaining)}"
    if (state.reset_in(now) or 0.0) > 0:
        return f"{said}, {compact_duration(state.age(now))} ago"
    return f"{said} at {time.strftime('%H:%M:%S', time.localtime(state.observed_at))}"


class BucketGauge(Widget):
    """Two lines: the label, the count and the countdown; then the bar. Every figure comes
    from one instant: the count, the bar and the percentage are projected to the same `now`
    the countdown counts from (a projected count is marked `~`, and the second line says what
    the server last said, and when). Written again at every tick and every batch of news,
    and at a paint for a new width (the first frame's included); a line is repainted only
    when what it says changed: a tick that moves the countdown repaints one line, and a full
    bucket's gauge is not repainted at all. The lines are painted by the gauge itself, not
    by a widget each: Textual's compositor visits every widget whose container meets a
    repainted line, and each of those visits cost about as much as painting the line."""

    DEFAULT_CSS = "BucketGauge { height: 2; text-wrap: nowrap; text-overflow: clip; }"

    def __init__(self, bucket_id: str, clock: Callable[[], float]) -> None:
        super().__init__(classes="gauge")  # no id: bucket ids come from header text
        self.bucket_id = bucket_id
        self.clock = clock
        self.state: BucketState | None = None
        self.binding = False
        self.alert_below = 0.0  # a binding share under this is marked low
        self.shown: tuple[Text, Text] | None = None  # what they say, written for cut_to cells
        self.cut_to = 0
        self.moving = True  # what they say changes with time (see moves), or is not written
        self._strips: list[Strip | None] = [None, None]  # the lines as painted, once painted

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self.repaint)

    @property
    def text(self) -> Text:
        """Both lines, as shown."""
        return Text("\n").join(self.shown or ())

    def show(self, state: BucketState, binding: bool, alert_below: float = 0.0) -> None:
        if (state, binding, alert_below) == (self.state, self.binding, self.alert_below) \
                and not self.moving:
            return  # written once it stopped moving: it would say the same again
        self.state, self.binding, self.alert_below = state, binding, alert_below
        if self.shown is None:  # not painted yet: the next paint writes, at its width
            return
        before = self.shown
        self.write(self.cut_to)
        refresh_changed(self, before, self.shown)

    def repaint(self, _theme=None) -> None:
        """Write both lines again at the next paint: their colours are the theme's."""
        self.shown = None
        self.moving = True
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.state is None or y > 1:
            return Strip.blank(width, self.visual_style.rich_style)
        if self.shown is None or width != self.cut_to:
            self.write(width)
        strip = self._strips[y]
        if strip is None:
            strip = self._strips[y] = line_strip(self, self.shown[y], width)
        return strip

    def write(self, width: int) -> None:
        state, now = self.state, self.clock()
        before, resized = self.shown, width != self.cut_to
        self.cut_to = width
        width = max(10, width)
        self.shown = (self._figures(state, now, width), self._bar(state, now, width))
        self.moving = moves(state, now)
        if before is None or resized:
            self._strips = [None, None]
        else:  # a line that says the same keeps its strip
            self._strips = [strip if new == old else None
                            for strip, new, old in zip(self._strips, self.shown, before,
                                                       strict=True)]

    def colour(self, fraction: float) -> str:
        variables = self.app.theme_variables
        key = "error" if fraction < CRITICAL else "warning" if fraction < LOW else "success"
        return variables.get(key, {"error": "red", "warning": "yellow"}.get(key, "green"))

    def _figures(self, state: BucketState, now: float, width: int) -> Text:
        b = state.bucket
        shown, projected = state.shown_remaining(now)
        right = Text()
        if state.stale:
            right.append("stale  ", style="dim italic")
        right.append(f"{'~' if projected else ''}{count(shown)} / {count(b.limit)}")
        counting = countdown(state, now)
        right.append(f"  {counting}", style="dim")
        # The label's room as if the countdown were as long as it usually gets, so that what
        # the label says does not come and go as the countdown's length changes
        room = width - right.cell_len - max(0, COUNTDOWN_CELLS - len(counting)) - 1
        inferred = b.window_source == WindowSource.INFERRED
        low = self.binding and under(state, now, self.alert_below)
        mark = " ◆ low" if low else " ◆ binding"
        # The most that fits: the label, then the binding mark, then the '(inferred)' note.
        for binding, note in ((mark, " (inferred)"), (mark, ""), (" ◆", "")):
            head = Text(bucket_label(state), style="bold")
            if inferred and note:
                head.append(note, style="dim")
            if self.binding:
                head.append(binding, style=f"bold {self.colour(0.0)}" if low else "bold")
            if head.cell_len <= room:
                break
        head.truncate(max(0, room), overflow="ellipsis")
        line = head + Text(" " * max(1, width - head.cell_len - right.cell_len)) + right
        line.truncate(width)
        return line

    def _bar(self, state: BucketState, now: float, width: int) -> Text:
        b = state.bucket
        fraction, projected = b.fraction, state.projected_fraction(now)
        if fraction is None or projected is None:
            why = "no limit sent" if b.limit is None else "no remaining sent"
            return Text(f"n/a ({why})", style="dim")
        share = state.shown_share(now)
        if share is None:
            share = projected
        label = f" {percent(share):>4}"
        note = seen_note(state, now)
        if note and width - len(label) - len(note) - 2 >= 10:  # the bar keeps 10 cells
            label += f" · {note}"
        cells = width - len(label)
        seen = round(fraction * cells)
        refill = max(0, round(share * cells) - seen)  # the bar ends where the count does
        colour = self.colour(share)
        bar = Text("█" * seen, style=colour)
        bar.append("▒" * refill, style=f"{colour} dim")  # projected refill, not observed
        bar.append("░" * (cells - seen - refill), style="dim")
        bar.append(label[:5], style=colour)
        bar.append(label[5:], style="dim")
        return bar


def say(line: Static, text: str) -> None:
    """Update a line only when its text changes: an update lays the whole screen out again,
    and the 1 Hz tick would do it every second for nothing."""
    if str(line.content) != text:
        line.update(text)


class QuotaPanel(VerticalScroll):
    """The gauges, requests and tokens first, others as they appear."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(id="quota")
        self.clock = clock
        self.border_title = "Quota"
        self.state: QuotaState | None = None
        self.gauges: dict[str, BucketGauge] = {}  # by bucket id
        self.alert_below = 0.0  # the shown endpoint's low-headroom share
        self.waiting = WAITING  # what the panel says before the first numbers

    def compose(self) -> ComposeResult:
        # Kept as attributes: show() runs at every tick and every batch of news.
        self.note = Static(id="quota-note")
        self.empty = Static(self.waiting, id="quota-empty")
        self.more = Static(id="quota-more")
        yield from (self.note, self.empty, self.more)

    def show(self, state: QuotaState, now: float, headerless: bool = False,
             failing: bool = False) -> None:
        self.state = state
        states = state.buckets()
        self._note(state, now)
        more = self.more
        extras = state.last.extras if state.last is not None else {}
        hidden, unread = extras.get("more_buckets", 0), extras.get("unread_headers", 0)
        more.display = bool(hidden or unread)
        parts = [f"… and {plural(hidden, 'more limit')} this endpoint reported (the ones with "
                 "the least left are shown)"] if hidden else []
        if unread:  # the parser's bound, imported here: the first frame needs no parser
            from ratelimit_tui.core.headers import MAX_HEADERS

            parts.append(f"{plural(unread, 'header')} past the first {MAX_HEADERS:,} not read")
        say(more, "; ".join(parts))
        empty = self.empty
        empty.display = not states
        if not states:
            say(empty,
                 "No numbers yet: this endpoint's calls fail (Events says why)." if failing else
                 "This endpoint sent no rate-limit headers: nothing to show yet. (Some, like "
                 "vLLM or DeepSeek, never do.)" if headerless else self.waiting)
        binding = state.binding(now)
        if binding is not None and (binding.projected_fraction(now) or 0.0) >= 0.999:
            binding = None  # nothing binds while everything is full
        previous: BucketGauge | None = None
        for bucket_state in states:  # in display order: a late-comer is mounted in its place
            bucket_id = bucket_state.bucket.id
            gauge = self.gauges.get(bucket_id)
            if gauge is None:
                gauge = self.gauges[bucket_id] = BucketGauge(bucket_id, self.clock)
                self.mount(gauge, after=empty if previous is None else previous)
            gauge.show(bucket_state, binding is not None and binding is bucket_state,
                       self.alert_below)
            previous = gauge

    def reset(self) -> None:
        """Another endpoint is about to be shown: none of these gauges is one of its limits."""
        for gauge in self.gauges.values():
            gauge.remove()
        self.gauges.clear()
        self.state = None

    def _note(self, state: QuotaState, now: float) -> None:
        """A 429 that no gauge explains: say so, or the gauges would promise room that the
        server refuses."""
        note = self.note
        note.display = state.refused_unseen()
        if not note.display:
            return
        wait = state.retry_wait(now)
        when = (f"the server asks to wait {countdown_text(wait)}" if wait else
                f"at {time.strftime('%H:%M:%S', time.localtime(state.last.received_at))}")
        say(note, f"429 from a limit these headers do not show: {when}")

    def tick(self) -> None:
        """Re-render from the clock: countdowns, projected refills, the binding mark."""
        if self.state is not None:
            self.show(self.state, self.clock())

    def needs_tick(self, now: float) -> bool:
        """Whether anything on a gauge changes with time (see moves)."""
        if self.state is not None and (self.state.retry_wait(now) or 0) > 0:
            return True  # the note's wait
        return any(gauge.state is not None and moves(gauge.state, now)
                   for gauge in self.gauges.values())
