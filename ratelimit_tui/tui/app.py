"""RateLimitApp, and make_app(settings), which the CLI and the tests both use.

Network work runs in async workers on the UI loop; the client reports through callbacks that
become typed messages; widgets never call the network. The SDK (and, in demo mode, the simulator)
is loaded in a thread after the first frame is on screen.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker

from ratelimit_tui.config import (
    DEFAULT_ENDPOINT,
    ConfigError,
    Settings,
    endpoint_of,
    history_endpoint,
    parse_poll,
)
from ratelimit_tui.core.choices import Choices
from ratelimit_tui.core.endpoint import CREDENTIALS_NOTE
from ratelimit_tui.core.events import (
    CallKind,
    CallRecord,
    Event,
    Outcome,
    ResponseObserved,
    RetryScheduled,
)
from ratelimit_tui.core.format import call_line, compact_duration, count, plural
from ratelimit_tui.core.history import WINDOWS, QuotaHistory
from ratelimit_tui.core.quota import RETRY_AFTER, QuotaState
from ratelimit_tui.core.status import connection_state, stale_after
from ratelimit_tui.tui.commands import Command, CommandError, parse_command
from ratelimit_tui.tui.instant import FrameClock
from ratelimit_tui.tui.lean import LeanScreen
from ratelimit_tui.tui.messages import (
    CallFinished,
    ClientReady,
    HistoryProblem,
    MetricsServing,
    QuotaUpdated,
    RetryWaiting,
    StartupFailed,
)
from ratelimit_tui.tui.models import CommandSuggester
from ratelimit_tui.tui.overview import OverviewScreen
from ratelimit_tui.tui.session import EndpointSession
from ratelimit_tui.tui.widgets.chat import ChatPanel, Transcript
from ratelimit_tui.tui.widgets.footer import Footer
from ratelimit_tui.tui.widgets.gauges import WAITING, QuotaPanel, bucket_label, percent
from ratelimit_tui.tui.widgets.panels import EventsSoFar, LastResponse, StatusLine
from ratelimit_tui.tui.widgets.plot import HistoryPlot

MAX_CONTEXT = 12  # messages sent with each question: the last five exchanges, and it
TOUR_KEYS = frozenset({"space", "n", "q"})
PROBE_TOKENS_GUESS = 9  # a minimal call's prompt ('ping') and its one token, before one counted


FULL_VIEW_ACTIONS = ("toggle_headers", "cycle_window", "probe", "cancel")  # of one endpoint


class RateLimitApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ratelimit-tui"
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny-height"), (16, "-cramped"), (20, "-short"),
                            (30, "-medium"), (40, "-tall")]
    BINDINGS = [
        # Only while the demo tour plays (check_action); before the chat input, which gives
        # them up meanwhile (a browser hands the focus back to it). First, so that the footer
        # shows them first at 80 columns.
        Binding("space", "tour_pause", "Pause", priority=True),
        Binding("space", "tour_resume", "Resume", priority=True),
        Binding("n", "tour_next", "Next", priority=True),
        Binding("q", "tour_end", "End tour", priority=True),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),  # the input takes it when empty
        Binding("f2", "toggle_headers", "Headers"),
        Binding("f3", "cycle_window", "Window"),
        Binding("f4", "overview", "Endpoints"),
        Binding("f5", "probe", "Probe"),
        Binding("f6", "compare", "Compare"),
        Binding("escape", "cancel", "Cancel"),
    ]  # Ctrl+Q quits (Textual's own binding); no plain letter does: the input has the focus

    def __init__(self, settings: Settings | list[Settings], *,
                 clock: Callable[[], float] = time.time,
                 timer: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, sim_config=None,
                 tick_s: float = 1.0, tour: str | None = None, choices: Choices | None = None,
                 choices_path=None, rng=None) -> None:
        """`settings`: one endpoint's, or several, which the overview lists. `tour`: 'loop'
        or 'once' plays the demo tour (in demo mode). `choices`: what the user chose in an
        earlier run, kept in `choices_path` as they choose again (nowhere without one).
        `rng`: the clients' random.Random, which spreads their retries (a fresh one each)."""
        super().__init__()
        endpoints = settings if isinstance(settings, list) else [settings]
        self.sessions = {s.name: EndpointSession(s) for s in endpoints}
        self.session = self.sessions[endpoints[0].name]  # the endpoint the full view shows
        self.several = len(endpoints) > 1
        self.compare = QuotaHistory()  # each endpoint's binding share: the plot's overlay
        self.comparing = False
        self.clock, self.timer, self.sleep, self.rng = clock, timer, sleep, rng
        self.sim_config = sim_config
        self.tick_s = tick_s
        self.sim = None  # EmbeddedSimulator in demo mode
        self.store = None  # HistoryStore, unless the file cannot be used
        self.closing = False
        self.pending: str | None = None  # a message typed before the client was ready
        self.settled = False  # what comes after the first call went out is done (settle)
        self._redraw_pending = False
        self._overview_pending = False
        self._ticker: Timer | None = None
        self._stale_timer: Timer | None = None
        self._plot_timer: Timer | None = None
        self.metrics_book = None  # --metrics: what /metrics serves, fed by the client's events
        self.metrics_server = None
        self.tour = tour
        self.tour_player = None  # TourPlayer, while the tour plays
        self.choices = choices or Choices()
        self.choices_path = choices_path
        self.theme_chosen = False  # a theme set from now on is the user's choice
        self.sized_for = None  # the terminal's size as last laid out (on_resize)

    @property
    def settings(self) -> Settings:
        """The shown endpoint's settings (the global ones are every endpoint's)."""
        return self.session.settings

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: the hot paths need no query, and a message that arrives while
        # the app shuts down finds its widget still there (if no longer on screen).
        self.status = StatusLine()
        self.painted = FrameClock(self.clock)  # the gauges and the caption that names them
        self.quota_panel = QuotaPanel(self.painted)
        self.chat = ChatPanel()
        self.chat.input.suggester = CommandSuggester(lambda: self.session.models,
                                                     lambda: self.list_models(self.session))
        self.chat.border_title = self.chat_title()
        self.transcripts = {self.session.name: self.chat.transcript}  # each endpoint's
        self.plot = HistoryPlot(self.session.history, self.clock)
        self.plot.poll_s = self.session.poll_s
        if self.choices.window_s in WINDOWS:
            self.plot.set_window(self.choices.window_s)
        self.fit_panel_to(self.session)
        self.events = EventsSoFar(self.clock)  # the log itself comes after the first frame
        self.last_response = LastResponse(tuple(
            secret for s in self.sessions.values() for secret in endpoint_of(s.settings).secrets))
        yield self.status
        if self.tour:
            from ratelimit_tui.tui.tour import TourCaption

            self.caption = TourCaption(lambda: self.session.quota, self.painted)
            yield self.caption
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.quota_panel
                yield self.chat
            with Vertical(id="right"):
                yield self.plot
        yield Static("The terminal is too small: ratelimit-tui needs at least 60\u00a0×\u00a016.",
                     id="too-small")
        yield Footer()

    def get_default_screen(self) -> Screen:
        screen = LeanScreen(id="_default")  # as Textual's, with leaner partial updates
        # The chat input has the focus from the first frame: Textual's default, the first
        # widget that takes it (the quota panel), would be styled and then unstyled when
        # on_mount moved the focus to the input, twice the work before the first frame.
        screen.AUTO_FOCUS = "#chat-input"
        # Its size classes (-narrow, -short...) from the start: Textual sets them when the
        # screen's first Resize arrives, after the first frame, so a small terminal was shown
        # the wide layout first, then the narrow one, and every size was styled twice.
        # Chosen by Textual's own rule (private, Textual is pinned): the widest (tallest)
        # breakpoint reached.
        width, height = self.size
        screen.add_class(*screen._get_breakpoint_classes(width, self.HORIZONTAL_BREAKPOINTS),
                         *screen._get_breakpoint_classes(height, self.VERTICAL_BREAKPOINTS),
                         update=False)
        return screen

    def on_mount(self) -> None:
        if self.settings.theme != self.theme and self.settings.theme in self.available_themes:
            self.theme_chosen = False  # the settings' theme: nobody chose it just now
            self.theme = self.settings.theme  # a change restyles every widget: only if needed
        self.theme_chosen = True
        self.last_response.display = False  # until F2
        self._ticker = self.set_interval(self.tick_s, self.tick, pause=True)
        self.refresh_status()
        if self.settings.history:
            self.recall_latest()
        if self.several:  # the first frame is the overview, with no flash of one endpoint
            self.action_overview()
        self.call_after_refresh(self.after_first_frame)

    def recall_latest(self) -> None:
        """The last numbers each endpoint reported, in the first frame: marked stale, and
        projected from their age, until a response of this run replaces them."""
        from ratelimit_tui.core.remembered import FILE_NAME, recall
        from ratelimit_tui.locations import history_db

        path = history_db().with_name(FILE_NAME)
        for session in self.sessions.values():
            snapshot = recall(path, history_endpoint(session.settings),
                              session.settings.key_fingerprint())
            if snapshot is not None:
                session.quota = QuotaState().merged(snapshot).remembered()
        self.quota_panel.show(self.session.quota, self.clock())
        self.wake_ticker()

    def after_first_frame(self) -> None:
        # What is not needed to see the screen comes second: the first frame is ~10 ms sooner.
        # (Not with settle: the plot's box would fill the column until then, then shrink.)
        from ratelimit_tui.tui.widgets.eventlog import EventLog

        self.events = EventLog(self.clock, self.events)
        self.query_one("#right").mount(self.events, self.last_response)
        if self.choices.headers:
            self.action_toggle_headers()
        if self.settings.theme not in self.available_themes:
            self.events.add(f"unknown theme {self.settings.theme!r}: Ctrl+P lists the themes",
                            "yellow")
        self.start_client()
        if self.settings.metrics:
            from ratelimit_tui.metrics.book import MetricsBook

            self.metrics_book = MetricsBook()
            for session in self.sessions.values():
                self.metrics_book.add_endpoint(session.name, session.settings.key_fingerprint())
            self.start_metrics(self.metrics_book)

    @work(thread=True, exclusive=True, group="metrics")
    def start_metrics(self, book) -> None:
        """Serve /metrics as `watch` does (prometheus-client loads off the UI thread)."""
        from ratelimit_tui.metrics.server import MetricsServer

        host, port = self.settings.metrics
        try:
            server = MetricsServer(book, self.clock, host, port)
        except OSError as exc:
            self.post_message(MetricsServing(error=f"metrics: cannot listen on {host}:{port} "
                                             f"({exc.strerror or exc})"))
            return
        if self.closing:
            server.close()
            return
        self.post_message(MetricsServing(server))

    def on_metrics_serving(self, message: MetricsServing) -> None:
        if message.error:
            self.events.add(message.error, "red")
            return
        self.metrics_server = message.server
        self.events.add(f"serving metrics on {message.server.url}")

    @work(thread=True, exclusive=True, group="startup")
    def start_client(self) -> None:
        """Load the SDK (about 0.2 s of imports) and start the simulator, off the UI thread."""
        base_urls = {name: s.settings.base_url for name, s in self.sessions.items()}
        try:
            from ratelimit_tui.core.client import tls_context

            if not all(s.settings.demo for s in self.sessions.values()):
                tls_context()  # read the CA bundle here, not when a client is made on the UI

            if any(s.settings.demo for s in self.sessions.values()):
                from ratelimit_tui.sim.embedded import EmbeddedSimulator
                from ratelimit_tui.sim.server import demo_config

                self.sim_config = self.sim_config or demo_config()
                self.sim = EmbeddedSimulator(self.sim_config).start()
                base_urls.update({name: self.sim.base_url for name, s in self.sessions.items()
                                  if s.settings.demo})
        except Exception as exc:  # a port, an import: say what, keep running
            self.post_message(StartupFailed(f"{type(exc).__name__}: {exc}"))
            return
        store, loaded, error = self.open_history()
        if self.closing:  # the user quit while this thread worked: undo, nobody else will
            if store is not None:
                store.close()
            if self.sim is not None:
                self.sim.stop()
            return
        self.post_message(ClientReady(base_urls, store, loaded, error))

    def open_history(self) -> tuple:
        """(store, each endpoint's plot history so far, error), opened in the start-up thread.
        Any failure leaves the dashboard on its in-memory history."""
        if not self.settings.history:
            return None, {}, None
        from ratelimit_tui.core.store import HistoryStore, StoreError, load_recent
        from ratelimit_tui.locations import history_db

        path = history_db()
        store = None
        try:
            store = HistoryStore(path, retention_days=self.settings.retention_days,
                                 on_error=lambda text: self.post_message(HistoryProblem(text)))
            loaded = {name: load_recent(path, history_endpoint(s.settings),
                                        s.settings.key_fingerprint(), self.clock())
                      for name, s in self.sessions.items()}
        except (StoreError, OSError) as exc:
            if store is not None:
                store.close()
            return None, {}, str(exc)
        return store, loaded, None

    def on_client_ready(self, message: ClientReady) -> None:
        from ratelimit_tui.core.client import QuotaClient

        self.store = message.store
        for name, history in message.histories.items():  # no call was made yet: no merging
            session = self.sessions[name]
            session.history, session.last_throttle_at = history, history.last_throttle()
            if self.several:  # the sparklines and the compare plot go on where they stopped
                self.compare.add_lowest_of(history, name)
        self.plot.show(self.compare if self.comparing else self.session.history)
        if message.store_error:
            self.events.add(f"history: {message.store_error}; keeping it in memory only",
                            "yellow")
        for name, session in self.sessions.items():
            session.client = QuotaClient(
                endpoint_of(session.settings, message.base_urls[name]), session.model,
                session.settings.probe_model, rng=self.rng, clock=self.clock, timer=self.timer,
                sleep=self.sleep, on_event=lambda event, name=name: self.client_event(name, event),
                on_sent=lambda: self.call_later(self.settle))
            session.facts = replace(session.facts, ready=True)
            if not session.settings.demo:
                self.log_line(session, f"endpoint {session.client.endpoint.host}")
                if session.client.endpoint.credentials_removed:
                    self.log_line(session, CREDENTIALS_NOTE, "yellow")
            if session.poll_s:
                self.poll(session)
        self.refresh_status()
        self.schedule_overview()
        if self.tour and self.sim is not None:
            self.start_tour()
        if self.pending:
            text, self.pending = self.pending, None
            self.send_chat(text)
        elif not any(session.poll_s for session in self.sessions.values()):
            self.settle()  # no call goes out now: nothing to let go first

    def settle(self) -> None:
        """What the first gauge need not wait for: the demo's note and the plot (a first run has
        nothing to plot yet). Done once the first call is on the wire, while the endpoint
        answers (the simulator of demo mode takes 150 ms), rather than before it is sent, or at
        once when no call goes out or the start failed; never with the first frame, nor
        competing (for the GIL) with the thread loading the SDK."""
        if self.settled:
            return
        self.settled = True
        # What start-up built, the SDK and the simulator included, lives as long as the app:
        # kept out of collections. The CLI paused the collector until now: running, it made
        # 75 collections (15 ms) during the imports of the SDK and the simulator alone.
        gc.freeze()
        gc.enable()
        for session in self.sessions.values():
            if session.settings.demo and session.client is not None:
                self.introduce_demo()
        self.plot.load()

    def introduce_demo(self) -> None:
        config = self.sim_config
        teammates = (f", with {plural(config.teammates, 'simulated teammate')} sharing its "
                     "quota" if config.teammates else "")
        self.chat.transcript.add_note(
            "Demo mode: this dashboard is talking to a simulated OpenAI-compatible API "
            f"running inside it{teammates}. To watch your real quota, set OPENAI_API_KEY and "
            "run ratelimit-tui (or pass --base-url for another OpenAI-compatible endpoint).")
        self.events.add(f"demo: the built-in simulator is serving ({config.limits.rpm} "
                        f"requests/min, {count(config.limits.tpm)} tokens/min)")

    def start_tour(self) -> None:
        from ratelimit_tui.tui.tour import Tour, TourPlayer, tour_steps

        tour = Tour(tour_steps(self.sim.config.limits), loop=self.tour == "loop")
        self.tour_player = TourPlayer(self, tour, self.caption, on_end=self.end_tour)
        self.tour_player.start()
        self.chat.input.reserved = TOUR_KEYS
        self.set_focus(None)
        self.refresh_bindings()
        self.wake_ticker()

    def end_tour(self) -> None:
        """Back to ordinary demo mode, where the tour left the quota."""
        self.tour_player = None
        self.chat.input.reserved = frozenset()
        self.caption.display = False
        self.events.add("the tour ended: this is ordinary demo mode (F1 for help)")
        self.refresh_bindings()
        self.chat.input.focus()

    def log_line(self, session: EndpointSession, text: str, style: str = "") -> None:
        """An Events line about one endpoint: named, when there are several."""
        self.events.add(f"{session.name}: {text}" if self.several else text, style)

    def fit_panel_to(self, session: EndpointSession) -> None:
        """The quota panel's words for this endpoint: its alert, and on a real endpoint that
        does not poll, how to get numbers without chatting."""
        self.quota_panel.alert_below = session.alarm.below if session.alarm else 0.0
        self.quota_panel.waiting = WAITING if session.settings.demo or session.poll_s else (
            f"{WAITING} Press F5 for one minimal call, or /poll 30 to poll every 30 s "
            "(each costs a few tokens); any chat shows them too.")

    def remember(self, **changes) -> None:
        """Keep a choice made in the dashboard for the next run (in the data directory)."""
        choices = replace(self.choices, **changes)
        if choices == self.choices:
            return
        self.choices = choices
        if self.choices_path is not None:
            from ratelimit_tui.core.choices import save

            problem = save(self.choices_path, choices)
            if problem:
                self.events.add(f"cannot keep your choices: {problem}", "yellow")

    def watch_theme(self, theme: str) -> None:
        if self.theme_chosen:
            self.remember(theme=theme)

    def on_history_problem(self, message: HistoryProblem) -> None:
        self.events.add(message.text, "yellow")

    def on_startup_failed(self, message: StartupFailed) -> None:
        self.session.facts = replace(self.session.facts, startup_error=message.error)
        self.events.add(f"could not start: {message.error}", "bold red")
        self.refresh_status()
        self.settle()

    async def on_unmount(self) -> None:
        self.closing = True
        if self.session.client is not None:
            await self.session.client.aclose()
        if self.store is not None:
            self.store.close()  # writes what is queued
        if self.sim is not None:
            self.sim.stop()
        if self.metrics_server is not None:
            self.metrics_server.close()

    # --- the client's reports -> messages -> widgets ------------------------------------------

    def client_event(self, name: str, event: Event) -> None:
        if self.metrics_book is not None:
            self.metrics_book.observe(name, event)
        if isinstance(event, ResponseObserved):
            self.post_message(QuotaUpdated(event, name))
        elif isinstance(event, RetryScheduled):
            self.post_message(RetryWaiting(event, name))
        elif isinstance(event, CallRecord):
            self.post_message(CallFinished(event, name))

    def on_quota_updated(self, message: QuotaUpdated) -> None:
        session = self.sessions[message.endpoint]
        observed = message.observed
        unreadable = session.observe(observed, self.clock())
        if session.alarm is not None:
            session.alarm.reported(observed.quota, observed.snapshot.received_at)
        if unreadable:  # once per change, not per response
            self.log_line(session, f"unreadable rate-limit values for {', '.join(unreadable)} "
                          "(sent, but not a count or a delay any server can mean): the gauges "
                          "keep their last known values", "yellow")
        binding = observed.quota.binding(observed.snapshot.received_at) if self.several \
            else None  # only the overview and F6 compare endpoints
        if binding is not None and binding.bucket.fraction is not None:
            self.compare.add(observed.snapshot.received_at, session.name,
                             binding.bucket.fraction)
        if session is self.session:
            self.schedule_redraw()  # which checks its headroom
        else:
            self.check_headroom(session, observed.snapshot.received_at)
        if session is self.session or self.comparing:
            self.schedule_plot()
        self.schedule_overview()

    def schedule_redraw(self) -> None:
        """Coalesce a burst of news into one redraw of what it changes: 200 responses in a
        second are one frame's work, not 200 (the keys stay quick)."""
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_later(self.redraw_news)

    def redraw_news(self) -> None:
        self._redraw_pending = False
        self.painted.new_instant()
        now = self.clock()
        self.quota_panel.show(self.session.quota, now, headerless=self.session.headerless,
                              failing=self.session.facts.failure is not None)
        if self.last_response.display and self.session.last_observed is not None:
            self.last_response.show(self.session.last_observed, self.session.last_latency_s)
        self.check_headroom(self.session, now)
        self.arm_stale_timer()
        self.refresh_status()
        self.show_caption()
        self.wake_ticker()

    def check_headroom(self, session: EndpointSession, now: float) -> None:
        """Say it once when the binding limit goes under the alert, and ring if asked."""
        alarm = session.alarm
        if alarm is None or not alarm.check(session.quota, now):
            return
        # What is left, the gauge says (a burst's answers come back in any order: the one
        # that crossed is not always the lowest).
        self.log_line(session, f"low headroom: {bucket_label(alarm.low)} fell under the "
                      f"{percent(alarm.below)} alert", "bold red")
        if session.settings.bell:
            self.bell()

    def show_caption(self) -> None:
        """The tour's caption names the gauges' figures: it is written with them."""
        if self.tour_player is not None:
            self.tour_player.caption.show()

    def arm_stale_timer(self) -> None:
        """Redraw the status line when, with no news, it turns stale."""
        if self._stale_timer is not None:
            self._stale_timer.stop()
        last = self.session.facts.last_response_at
        if last is not None:
            due = last + stale_after(self.session.poll_s) - self.clock()
            self._stale_timer = self.set_timer(max(0.0, due) + 0.5, self.refresh_status)

    def on_retry_waiting(self, message: RetryWaiting) -> None:
        session = self.sessions[message.endpoint]
        retry = message.retry  # only chats retry: probes and bursts make one attempt
        session.facts = replace(session.facts, retry_until=self.clock() + retry.wait_s)
        # The wait as it is, beside the server's own figure in the reason (2.2s after "try
        # again in 2s"); the status line counts it down in whole seconds, rounded up
        self.log_line(session, f"retrying in {compact_duration(retry.wait_s)} (attempt "
                      f"{retry.attempt}, Esc cancels) after {retry.reason}", "yellow")
        self.refresh_status()
        self.schedule_overview()
        self.wake_ticker()

    def on_call_finished(self, message: CallFinished) -> None:
        """Every call, whoever made it: into the history, and into the connection state (the
        worker that made the call shows its own result)."""
        self.settle()  # the first call failed before it was sent, if nothing did it yet
        session = self.sessions[message.endpoint]
        record = message.record
        session.finished(record)
        if self.store is not None:
            self.store.add(record, history_endpoint(session.settings),
                           session.settings.key_fingerprint())
        facts = session.facts
        if record.outcome.broken:
            facts = replace(facts, failure=record.error)
        elif record.outcome != Outcome.CANCELLED:
            facts = replace(facts, failure=None)
        if record.kind == CallKind.CHAT:
            facts = replace(facts, retry_until=None)
        session.facts = facts
        observed = session.last_observed
        if observed is not None and observed.request_id == record.request_id:
            session.last_latency_s = record.latency_s  # the same call's total, for F2
        if session is self.session:
            self.schedule_redraw()
        self.schedule_overview()

    # --- time ---------------------------------------------------------------------------------

    def tick(self) -> None:
        """The one timer behind every countdown, however many endpoints there are."""
        if not self.is_running:
            return  # closing: Textual removes the screens before it stops the app's timers
        if isinstance(self.screen, ModalScreen):
            return  # refreshing under a modal repaints the whole screen every tick
        now = self.clock()
        self.painted.new_instant()
        if self.tour_player is not None:
            self.tour_player.play()
        if isinstance(self.screen, OverviewScreen):
            self.redraw_overview()
        else:
            self.quota_panel.tick()
            self.check_headroom(self.session, now)
            self.refresh_status()
            self.show_caption()
        if not self.needs_tick(now):
            self._ticker.pause()  # nothing on screen changes with time: stop waking up

    def needs_tick(self, now: float) -> bool:
        if self.tour_player is not None:
            return True  # its next act, its next step, its caption
        if isinstance(self.screen, OverviewScreen):
            return any(s.needs_tick(now) for s in self.sessions.values())
        retry_until = self.session.facts.retry_until
        return (retry_until is not None and retry_until > now) or self.quota_panel.needs_tick(now)

    def wake_ticker(self) -> None:
        """Tick again from now on (a second after the news, not on a grid set at start-up)."""
        if self._ticker is not None and self.needs_tick(self.clock()):
            self._ticker.reset()
            self._ticker.resume()

    def refresh_status(self) -> None:
        now = self.clock()
        retry_until = self.session.facts.retry_until
        retry_in = retry_until - now if retry_until is not None and retry_until > now else None
        endpoint = self.session.host
        if self.session.name != DEFAULT_ENDPOINT:  # as the config file names it
            endpoint = f"{self.session.name} ({endpoint})"
        self.status.show(endpoint=endpoint, model=self.session.model,
                         dialect=self.session.dialect,
                         state=connection_state(self.session.facts, now),
                         poll_s=self.session.poll_s, retry_in=retry_in, low=self.low_words(now))

    def low_words(self, now: float) -> str | None:
        """'requests 6%', while the shown endpoint's binding limit is under its alert."""
        alarm = self.session.alarm
        if alarm is None or alarm.low is None:
            return None
        return f"{alarm.low.bucket.metric} {percent(alarm.low.shown_share(now) or 0.0)}"

    def schedule_overview(self) -> None:
        """Coalesced like the full view's redraw; only while the overview is on screen (not
        while closing: a poll's answer can come in after the screens are gone)."""
        if self.several and not self._overview_pending and self.is_running and isinstance(
                self.screen, OverviewScreen):
            self._overview_pending = True
            self.call_later(self.redraw_overview)

    def redraw_overview(self) -> None:
        self._overview_pending = False
        if self.is_running and isinstance(self.screen, OverviewScreen):
            now = self.clock()
            self.screen.show([s.summary(now) for s in self.sessions.values()],
                             self.compare, now)
            self.wake_ticker()

    def schedule_plot(self) -> None:
        """Coalesce a burst of responses into one redraw."""
        if self._plot_timer is None:
            self._plot_timer = self.set_timer(0.25, self.redraw_plot)

    def redraw_plot(self) -> None:
        self._plot_timer = None
        if self.is_running:  # not while closing, its screen gone (as for the tick)
            self.plot.redraw()

    # --- chat, commands -----------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def submitted(self, event: Input.Submitted) -> None:
        chat_input = self.chat.input
        text = event.value.strip()
        if not text:
            return
        chat_input.remember(text)  # even a mistyped command: Up brings it back to mend
        try:
            command = parse_command(text)
        except CommandError as exc:
            chat_input.clear()
            self.events.add(str(exc), "red")
            self.notify(str(exc), severity="warning")
            return
        if command is None and (self.answering() or self.pending):
            # One answer at a time keeps the conversation's order; the text stays in the box.
            self.notify("An answer is still coming: Esc cancels it.", severity="warning")
            return
        chat_input.clear()
        if command is not None:
            self.run_command(command)
            return
        self.chat.transcript.add_user(text)
        if self.session.client is None:
            self.pending = text
            self.chat.transcript.add_note("connecting... the message goes out when ready")
            return
        self.send_chat(text)

    def answering(self) -> bool:
        """The shown endpoint's answer is still coming (another endpoint's may be too)."""
        return any(w.group == f"chat:{self.session.name}" and w.is_running
                   for w in self.workers)

    def warn_if_full(self, session: EndpointSession) -> None:
        """Before a question: say so when the known limits have no room for one more request
        (the token cost of a chat answer is not known beforehand, so only requests count)."""
        fit = session.quota.fits(0, self.clock())
        if fit.ok or not fit.wait_s:
            return
        wait = compact_duration(fit.wait_s)
        if fit.blocking == RETRY_AFTER:
            self.log_line(session, f"the last response asked to wait {wait} more: expect a "
                          "refusal and a retry", "yellow")
        else:
            self.log_line(session, f"{fit.blocking} has no room yet: expect a 429 and a wait "
                          f"of about {wait}", "yellow")

    def send_chat(self, text: str) -> Worker[None]:
        """One answer at a time per endpoint: to the one shown, into its transcript."""
        return self.run_worker(self.ask(self.session, self.chat.transcript, text),
                               group=f"chat:{self.session.name}", exclusive=True)

    async def ask(self, session: EndpointSession, transcript: Transcript, text: str) -> None:
        """Ask, stream the answer into its own widget, finish it with its own call's record.
        The endpoint keeps the conversation, whichever is shown meanwhile."""
        self.warn_if_full(session)
        question = {"role": "user", "content": text}
        answer = await transcript.add_answer()
        started = self.timer()
        try:
            record = await session.client.chat(
                [*session.conversation[-(MAX_CONTEXT - 2):], question], model=session.model,
                stream=session.settings.stream,
                on_text=answer.write if session.settings.stream else None)
        except asyncio.CancelledError:
            await answer.cancelled(self.timer() - started)
            raise
        await answer.finish(record)
        if record.ok and record.text:  # question and answer, in order
            session.conversation += [question, {"role": "assistant", "content": record.text}]
            del session.conversation[:-MAX_CONTEXT]  # what is never sent again is not kept
        elif not record.ok:
            self.log_line(session, f"chat: {record.error}", "bold red")

    def poll(self, session: EndpointSession) -> None:
        """Poll one endpoint on its own schedule until cancelled, as `watch` does."""
        self.run_worker(session.client.poll_forever(
            session.poll_s, on_record=lambda record: self.polled(session, record)),
            group=f"poll:{session.name}", exclusive=True)

    def polled(self, session: EndpointSession, record: CallRecord) -> None:
        """A poll's refusal goes in the log once, and its end once: not once per poll (the
        server's words may change from one poll to the next; the outcome is what counts)."""
        state = None if record.ok else (record.outcome, record.status)
        if state == session.poll_state:
            return
        if state is not None:
            colour = "yellow" if record.outcome == Outcome.RATE_LIMITED else "red"
            self.log_line(session, f"polling: {record.error}", colour)
        elif session.poll_state is not None:
            self.log_line(session, f"polling works again: {call_line(record)}", "green")
        session.poll_state = state

    @work(group="probe")
    async def probe_now(self) -> None:
        session = self.session  # the one shown when F5 was pressed, whatever is shown next
        record = await session.client.probe(
            model=session.settings.probe_model or session.model)
        self.log_line(session, f"probe: {call_line(record)}", "" if record.ok else "red")

    def burst(self, calls: int, at_once: int | None = None):
        """`calls` minimal calls to the endpoint shown, `at_once` at a time (default: as many
        as the client's connections); Esc cancels them there."""
        return self.run_worker(self.spend(self.session, calls, at_once),
                               group=f"burst:{self.session.name}")

    async def spend(self, session: EndpointSession, calls: int, at_once: int | None) -> None:
        from ratelimit_tui.core.client import MAX_CONNECTIONS  # loaded: the client exists

        at_once = at_once or MAX_CONNECTIONS
        pace = (" one at a time" if at_once == 1 and calls > 1 else
                f", {at_once} at a time" if calls > at_once else " at once")
        self.log_line(session, f"burst: {plural(calls, 'minimal call')}{pace}")
        gate = asyncio.Semaphore(at_once)  # a call is built only when it can go out

        async def one() -> CallRecord:
            async with gate:
                return await session.client.probe(
                    model=session.settings.probe_model or session.model, kind=CallKind.BURST)

        # The first goes alone: what it learns of the model (a reasoning model refuses
        # max_tokens for max_completion_tokens) spares each of the others a refused request.
        records = [await one(), *await asyncio.gather(*(one() for _ in range(calls - 1)))]
        outcomes = Counter(r.outcome for r in records)
        parts = [f"{outcomes.pop(Outcome.OK, 0)} ok"]
        if throttled := outcomes.pop(Outcome.RATE_LIMITED, 0):
            parts.append(f"{throttled}× 429")
        parts += [f"{n} {outcome.text}" for outcome, n in outcomes.most_common()]
        self.log_line(session, f"burst of {calls}: {', '.join(parts)}",
                      "yellow" if throttled else "")

    def run_command(self, command: Command) -> None:
        log = self.events
        if command.name == "help":
            self.action_help()
        elif command.name == "clear":
            self.workers.cancel_group(self, f"chat:{self.session.name}")
            self.chat.transcript.remove_children()
            self.session.conversation.clear()
        elif command.name == "model" and not command.arg:
            self.pick_model()
        elif command.name == "model":
            self.session.model = command.arg
            if self.session.client is not None:
                self.session.client.model = command.arg
            listed = self.session.models
            self.log_line(self.session, f"model: {command.arg}" + (
                "; not among the endpoint's models (a 404 will say so)"
                if listed and command.arg not in listed else ""),
                "yellow" if listed and command.arg not in listed else "")
            self.chat.border_title = self.chat_title()
            self.refresh_status()
        elif command.name == "poll":
            try:
                self.session.poll_s = parse_poll(command.arg, "/poll")
            except ConfigError as exc:
                log.add(str(exc), "red")
                return
            self.session.facts = replace(self.session.facts, poll_s=self.session.poll_s)
            self.remember(poll_s=self.choices.with_poll(history_endpoint(self.settings),
                                                        self.session.poll_s).poll_s)
            self.fit_panel_to(self.session)
            self.plot.poll_s = self.session.poll_s
            self.session.poll_state = None  # a new series of polls: its first refusal is news
            self.arm_stale_timer()
            self.workers.cancel_group(self, f"poll:{self.session.name}")
            if self.session.poll_s and self.session.client is not None:
                self.poll(self.session)
            self.log_line(self.session, f"polling every {compact_duration(self.session.poll_s)}"
                          if self.session.poll_s else "polling off")
            self.refresh_status()
        elif command.name == "burst":
            if self.session.client is None:
                log.add("not connected yet", "red")
            elif self.session.settings.demo:
                self.burst(int(command.arg))
            else:
                self.confirm_burst(self.session, int(command.arg))

    def confirm_burst(self, session: EndpointSession, calls: int) -> None:
        """A burst on a real endpoint spends real quota, perhaps money: say how much first."""
        from ratelimit_tui.tui.screens import ConfirmScreen

        each = session.probe_tokens or PROBE_TOKENS_GUESS
        known = "as the last minimal call counted" if session.probe_tokens else "an estimate"
        question = (f"/burst {calls} on {session.host} makes {plural(calls, 'minimal call')} "
                    f"(max_tokens 1) with this key: about {calls} × {each} = "
                    f"{count(calls * each)} tokens ({known}), and {plural(calls, 'request')} "
                    "of its quota.")

        def answered(spend: bool | None) -> None:
            if spend:  # the modal kept this endpoint on screen, and its client
                self.burst(calls)
            else:
                self.log_line(session, f"/burst {calls}: not sent")

        self.push_screen(ConfirmScreen(question, "Spend them"), answered)

    def list_models(self, session: EndpointSession, then_pick: bool = False) -> None:
        """Ask the endpoint for its models, once, or again after a failure (a worker: the UI
        goes on meanwhile)."""
        if session.client is None or (session.models is not None and
                                      session.models_unlisted is None):
            return
        self.run_worker(self._list_models(session, then_pick), group=f"models:{session.name}",
                        exclusive=True)

    async def _list_models(self, session: EndpointSession, then_pick: bool) -> None:
        from ratelimit_tui.core.client import ModelsUnlisted

        try:
            session.models = tuple(await session.client.models())
            session.models_unlisted = None
        except ModelsUnlisted as exc:
            # Completion asks once: /model NAME still works, and /model asks again.
            session.models, session.models_unlisted = (), str(exc)
            self.log_line(session, f"cannot list the models: {exc} (/model NAME switches by "
                          "name)", "yellow")
        if session is self.session:
            self.chat.input.suggester.ask_again(self.chat.input)
        if then_pick and session is self.session:
            self.show_models(session)

    def pick_model(self) -> None:
        """/model: the endpoint's models to choose from, listed first if they are not yet, or
        if the last listing failed (an endpoint down then may answer now)."""
        session = self.session
        if session.models is None or session.models_unlisted is not None:
            if session.client is None:
                self.notify("Not connected yet: /model NAME switches by name.")
            else:
                self.list_models(session, then_pick=True)
            return
        self.show_models(session)

    def show_models(self, session: EndpointSession) -> None:
        """The models in the command palette's search, Enter switches to one; or why there
        are none: the endpoint's failure (its words, the key scrubbed), or its empty list."""
        from textual.command import SimpleCommand

        if session.models_unlisted is not None:
            self.notify(f"Cannot list the models: {session.models_unlisted}\n"
                        "/model NAME switches by name.", severity="warning", markup=False)
            return
        if not session.models:
            self.notify("This endpoint listed no models: /model NAME switches by name.")
            return
        self.search_commands(
            [SimpleCommand(m, lambda m=m: self.run_command(Command("model", m)),
                           "the current model" if m == session.model else None)
             for m in session.models], placeholder=f"Models of {session.host}…")

    # --- actions ------------------------------------------------------------------------------

    def action_help(self) -> None:
        from ratelimit_tui.tui.screens import HelpScreen  # Markdown: not before the first frame

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_headers(self) -> None:
        panel = self.last_response
        panel.display = not panel.display
        self.remember(headers=panel.display)
        self.events.display = not panel.display
        self.screen.set_class(panel.display, "-headers")  # the layout makes room for it
        if panel.display and self.session.last_observed is not None:
            panel.show(self.session.last_observed)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action.startswith("tour_"):
            playing = self.tour_player is not None and self.screen is self.screen_stack[0]
            if action in ("tour_pause", "tour_resume"):  # one key, named for what it does
                return playing and self.tour_player.tour.paused == (action == "tour_resume")
            return playing
        if action == "overview":
            return self.several and not isinstance(self.screen, OverviewScreen)
        if action == "compare":
            return self.several  # one endpoint: nothing to compare, not in the footer
        if action in FULL_VIEW_ACTIONS:
            return not isinstance(self.screen, OverviewScreen)
        return True

    def action_overview(self) -> None:
        if not isinstance(self.screen, OverviewScreen):
            self.push_screen(OverviewScreen(list(self.sessions), self.session.name))
            self.redraw_overview()

    def on_overview_screen_chosen(self, message: OverviewScreen.Chosen) -> None:
        self.pop_screen()
        self.select(message.endpoint)

    def select(self, name: str) -> None:
        """Show one endpoint in full: its gauges, status, history and headers; chat goes to
        it. The Events log and the transcript stay: they say which endpoint each line is."""
        session = self.sessions[name]
        if session is not self.session:
            self.session = session
            self.quota_panel.reset()
            self.fit_panel_to(session)
            self.last_response.clear()
            self.plot.poll_s = session.poll_s
            if not self.comparing:
                self.plot.show(session.history)
            self.chat.switch(self.transcripts.setdefault(name, Transcript()),
                             self.chat_title())
        self.redraw_news()
        self.refocus()

    def chat_title(self) -> str:
        """Which endpoint the chat goes to, when there are several."""
        return f"Chat · {self.session.name} ({self.session.model})" if self.several else "Chat"

    def action_compare(self) -> None:
        """The plot overlays every endpoint's binding share, or goes back to this one's
        buckets."""
        self.comparing = not self.comparing
        if self.comparing:
            self.plot.show(self.compare, " · each endpoint's binding limit (F6)")
        else:
            self.plot.show(self.session.history)
        if isinstance(self.screen, OverviewScreen) or not self.plot.region.area:
            self.notify("The history plot (in an endpoint's full view, 40 rows or more) now "
                        "shows " + ("every endpoint's binding limit" if self.comparing else
                                    "the shown endpoint's limits"), title="Compare (F6)")

    def action_cycle_window(self) -> None:
        self.plot.cycle_window()
        self.remember(window_s=self.plot.window)
        if not self.plot.display:  # one column under 40 rows: the key would seem to do nothing
            self.notify(f"History window: {self.plot.window_name} (the plot appears when the "
                        "terminal has 40 rows, or 110 columns)")

    def action_probe(self) -> None:
        if self.session.client is not None:
            self.probe_now()

    def playing(self):
        """The tour's player, or SkipAction: the key goes on to the input."""
        if self.tour_player is None or self.screen is not self.screen_stack[0]:
            raise SkipAction()
        return self.tour_player

    def action_tour_pause(self) -> None:
        self.playing().toggle_pause()
        self.refresh_bindings()

    action_tour_resume = action_tour_pause

    def action_tour_next(self) -> None:
        self.playing().skip()

    def action_tour_end(self) -> None:
        self.playing()
        self.end_tour()

    def action_cancel(self) -> None:
        if self.tour_player is not None:
            self.end_tour()
            return
        session = self.session  # its answer and its burst; another endpoint's go on
        cancelled = [w for w in self.workers if w.is_running and
                     w.group in (f"chat:{session.name}", f"burst:{session.name}")]
        for worker in cancelled:
            worker.cancel()
        if cancelled:
            session.facts = replace(session.facts, retry_until=None)
            self.log_line(session, "cancelled by Esc")
            self.refresh_status()

    def on_resize(self, event: events.Resize) -> None:
        """A resize can hide the input (too small) and so take its focus: give it back."""
        if event.size == self.sized_for:
            # A terminal may report the size it reported already (tmux does as the app
            # starts); Textual would send it on to the screen once idle, which lays out and
            # paints everything again, between the first frame and the start-up thread.
            event.prevent_default()
            return
        self.sized_for = event.size
        self.call_after_refresh(self.refocus)

    def refocus(self) -> None:
        if self.tour_player is None and self.screen is self.screen_stack[0] and \
                self.chat.input.display and (
                self.focused is None or not self.focused.display):
            self.chat.input.focus()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.several:
            yield SystemCommand("Endpoints", "The overview of every endpoint (F4)",
                                self.action_overview)
            yield SystemCommand("Compare endpoints", "Every endpoint's binding limit on the "
                                "plot (F6)", self.action_compare)
        if isinstance(screen, OverviewScreen):
            return  # the rest act on one endpoint's full view
        yield SystemCommand("Probe now", "One minimal call to refresh the gauges",
                            self.action_probe)
        yield SystemCommand("Toggle last response", "Show or hide the headers of the last "
                            "response", self.action_toggle_headers)
        yield SystemCommand("Cycle history window", "5 min, 1 h, 24 h",
                            self.action_cycle_window)
        yield SystemCommand("Burst 20 calls",
                            "20 minimal calls in quick succession: watch the limits drain",
                            lambda: self.run_command(Command("burst", "20")))
        yield SystemCommand("Choose model", "One of the endpoint's models, for chat and probes",
                            self.pick_model)
        yield SystemCommand("Clear transcript", "Clear the chat and its context",
                            lambda: self.run_command(Command("clear", "")))
        yield SystemCommand("Help", "Keys and commands", self.action_help)


def make_app(settings: Settings, **options) -> RateLimitApp:
    """The one way to build the app: the CLI, the tests and the screenshot script use it."""
    return RateLimitApp(settings, **options)
