"""The demo tour: a minute and a half on the embedded simulator, in the real dashboard, with a
caption that says what is happening and what to look at. Nobody has to narrate it.

`Tour` is the script's position on the app's clock (so a test moves it on a scripted clock);
`TourPlayer` carries out each step's acts through the same paths a user's keys take, at the
app's tick; `TourCaption` draws the words, at the same instant as the gauges it names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed

from ratelimit_tui.core.format import count
from ratelimit_tui.core.quota import QuotaState
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.tui.widgets.gauges import bucket_label, countdown


@dataclass(frozen=True)
class Act:
    at_s: float  # seconds into its step
    kind: str  # probe | burst | drain | chat | fault | teammates | refill
    arg: str | int | None = None


@dataclass(frozen=True)
class Step:
    title: str
    seconds: float
    text: str  # what happens, and what to look at
    acts: tuple[Act, ...] = ()
    live: bool = False  # followed by the binding limit, in the gauges' own words


BURST = 40  # calls: more than the demo's requests per minute, so the bucket runs dry
SHORT_UNDER = 20  # rows: a shorter terminal gets the caption's title and figures alone


def tour_steps(limits: Limits) -> tuple[Step, ...]:
    """The script, in the words of the limits the simulator enforces."""
    rpm, tpm = limits.rpm, count(limits.tpm)
    return (
        Step("A calm start", 12,
             f"A simulated OpenAI-compatible API with {rpm} requests and {tpm} tokens a "
             "minute. Each gauge is what the last response's headers said: remaining / limit, "
             "and when the bucket is full again.",
             (Act(0, "refill"), Act(1, "probe"))),  # round two starts full, and shows it
        Step("Teammates' traffic", 15,
             "Two teammates share this key. Their calls come out of the same buckets, so the "
             "token gauge falls between your own calls: each response shows what is left.",
             (Act(0, "teammates", 900), Act(1, "probe"), Act(6, "teammates", 1200),
              Act(7, "probe"))),
        Step("A burst", 12,
             f"{BURST} minimal calls in quick succession, more than the {rpm} a minute allow. "
             "Watch the requests gauge drain to 0; the calls beyond it are refused with 429s "
             "(Events counts them).",
             (Act(0, "burst", BURST),), live=True),
        Step("Throttled", 12,
             "With the requests bucket empty, a question is refused, then retried after the "
             "wait the server asked for: the status line counts it down.",
             (Act(0, "drain"), Act(0, "chat", "How much of my quota is left?")), live=True),
        Step("Failures", 15,
             "Servers fail too: a proxy's HTML 503 on a probe, then an answer cut off mid-"
             "stream. Each says what it is, in Events and in the chat; the gauges keep the "
             "last numbers a server sent.",
             (Act(0, "fault", "503"), Act(0, "probe"), Act(8, "fault", "cut"),
              Act(8, "chat", "Explain token buckets in one sentence."))),
        Step("Recovery", 24,
             f"The buckets refill continuously: {rpm} requests a minute is one every "
             f"{60 / rpm:g} s. Between responses the gauges project the refill (marked ~); "
             "each poll confirms it.", (), live=True),
    )


class Tour:
    """Which step, how far into it, paused or not. Pure: every method takes the time."""

    def __init__(self, steps: tuple[Step, ...], loop: bool = True) -> None:
        self.steps = steps
        self.loop = loop
        self.index = 0
        self.ended = False
        self._started_at = 0.0
        self._paused_at: float | None = None
        self._fired = 0  # the current step's acts carried out so far (they are in time order)

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def begin(self, now: float, index: int = 0) -> None:
        self.index, self._started_at, self._fired = index, now, 0
        if self._paused_at is not None:
            self._paused_at = now

    def elapsed(self, now: float) -> float:
        return (self._paused_at if self._paused_at is not None else now) - self._started_at

    def due(self, now: float) -> list[Act]:
        """The acts whose time has come, each once."""
        acts = self.step.acts
        elapsed = self.elapsed(now)
        start = self._fired
        while self._fired < len(acts) and acts[self._fired].at_s <= elapsed:
            self._fired += 1
        return list(acts[start:self._fired])

    def advance(self, now: float) -> bool:
        """On to the next step when this one's time is up; True when the step changed (or the
        tour ended)."""
        if self.ended or self.elapsed(now) < self.step.seconds:
            return False
        self.skip(now)
        return True

    def skip(self, now: float) -> None:
        """The next step at once (the rest of this one's acts are dropped)."""
        if self.index + 1 < len(self.steps):
            self.begin(now, self.index + 1)
        elif self.loop:
            self.begin(now)
        else:
            self.ended = True

    def toggle_pause(self, now: float) -> None:
        if self._paused_at is None:
            self._paused_at = now
        else:  # the step goes on where it stopped
            self._started_at += now - self._paused_at
            self._paused_at = None

    def caption(self, quota: QuotaState, now: float, short: bool = False) -> str:
        """`short`: the title alone, with the live figures."""
        step = self.step
        text = f"Tour {self.index + 1}/{len(self.steps)} · {step.title}."
        if not short:
            text += f" {step.text}"
        if step.live:
            text += binding_words(quota, now)
        if self.paused:
            text += "  (paused: space goes on)"
        return text


def binding_words(quota: QuotaState, now: float) -> str:
    """' The binding limit is now requests: 0 of 30 left, next in 2s.', with the gauges' own
    figures (the same projection, rounding and countdown)."""
    state = quota.binding(now)
    if state is None:
        return ""
    shown, projected = state.shown_remaining(now)
    left = f"{'~' if projected else ''}{count(shown)} of {count(state.bucket.limit)} left"
    return (f" The binding limit is now {bucket_label(state)}: {left}, "
            f"{countdown(state, now)}.")


class TourCaption(Widget):
    """The tour's words. Written at the instant the gauges are drawn at, from the same clock:
    the figures it names are the ones on screen."""

    DEFAULT_CSS = "TourCaption { height: auto; }"

    def __init__(self, quota: Callable[[], QuotaState], clock: Callable[[], float]) -> None:
        super().__init__(id="caption")
        self.quota, self.clock = quota, clock
        self.tour: Tour | None = None  # until the simulator runs
        self.text = Text("Tour: starting the simulator...")

    def show(self) -> None:
        """Write the words again; repaint them only if they changed (and lay them out again:
        they may take another row)."""
        if self.tour is None:
            return
        short = self.app.size.height < SHORT_UNDER  # the gauges keep their rows
        text = Text(self.tour.caption(self.quota(), self.clock(), short))
        if text != self.text:
            self.text = text
            self.refresh(layout=True)

    def render(self) -> Text:
        return self.text


class TourPlayer:
    """Plays a Tour in the app: each act through the path a user's key or command takes."""

    def __init__(self, app, tour: Tour, caption: TourCaption,
                 on_end: Callable[[], None]) -> None:
        self.app = app
        self.tour = tour
        self.caption = caption
        self.on_end = on_end
        self.acts = {"probe": self._probe, "burst": self._burst, "drain": self._drain,
                     "chat": self._chat,
                     "fault": self._fault, "teammates": self._teammates,
                     "refill": self._refill}

    def start(self) -> None:
        self.tour.begin(self.app.clock())
        self.caption.tour = self.tour
        self.play()
        self.caption.show()

    def play(self) -> None:
        """Carry out what is due, and move on when a step's time is up (the app's tick)."""
        now = self.app.clock()
        if not self.tour.paused:
            for act in self.tour.due(now):
                self.acts[act.kind](act.arg)
            if self.tour.advance(now):
                self.next_step()

    def skip(self) -> None:
        self.tour.skip(self.app.clock())
        self.next_step()

    def next_step(self) -> None:
        if self.tour.ended:
            self.on_end()
        else:
            self.play()  # the new step's first acts, now
            self.caption.show()

    def toggle_pause(self) -> None:
        self.tour.toggle_pause(self.app.clock())
        self.caption.show()

    # --- the acts -----------------------------------------------------------------------

    def _probe(self, _: object) -> None:
        self.app.action_probe()

    def _burst(self, calls: object) -> None:
        self.app.burst(int(calls))

    def _drain(self, _: object) -> None:
        """As many calls as the requests gauge shows left, and two more: empty, surely. One
        at a time, so that the last answer is a refusal, whatever the network's timing."""
        state = self.app.session.quota.get("requests")
        shown = state.shown_remaining(self.app.clock())[0] if state is not None else None
        self.app.burst((shown or 0) + 2, at_once=1)

    def _chat(self, text: object) -> None:
        """Asked once the step's burst is done (the drain's last call must be the refusal
        the question then meets), and only if no answer is still coming, as for a user."""
        bursts = [w for w in self.app.workers if w.group == f"burst:{self.app.session.name}"
                  and not w.is_finished]

        async def ask() -> None:
            for worker in bursts:
                with contextlib.suppress(WorkerCancelled, WorkerFailed):  # Esc: ask anyway
                    await worker.wait()
            if not self.app.answering():
                self.app.chat.transcript.add_user(str(text))
                self.app.send_chat(str(text))

        self.app.run_worker(ask(), group="tour")

    def _fault(self, kind: object) -> None:
        self.app.sim.simulator.force_fault(str(kind))

    def _teammates(self, tokens: object) -> None:
        simulator = self.app.sim.simulator
        simulator.from_outside(lambda: simulator.teammate_call(int(tokens)))

    def _refill(self, _: object) -> None:
        self.app.sim.simulator.from_outside(self.app.sim.simulator.refill)
