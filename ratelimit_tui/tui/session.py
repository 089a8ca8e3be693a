"""One endpoint as the dashboard knows it: its client, the latest picture of its limits, its
connection facts and its history. The app keeps one per endpoint and shows one in full; the
overview draws a row of each from `summary`, an immutable value."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ratelimit_tui.config import Settings, endpoint_of
from ratelimit_tui.core.events import CallKind, CallRecord, ResponseObserved
from ratelimit_tui.core.headroom import HeadroomAlarm
from ratelimit_tui.core.history import QuotaHistory
from ratelimit_tui.core.quota import BucketState, QuotaState
from ratelimit_tui.core.status import Connection, ConnectionFacts, connection_state


class EndpointSession:
    """Mutable, and owned by the UI thread: messages change it, widgets get values from it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.name
        self.client = None  # QuotaClient, once the SDK is loaded
        self.model = settings.model
        self.poll_s = settings.poll_s
        self.conversation: list[dict[str, str]] = []  # questions and answers, in pairs
        self.quota = QuotaState()  # as the latest QuotaUpdated carried it
        self.facts = ConnectionFacts(poll_s=self.poll_s)  # what the status line is derived from
        self.history = QuotaHistory()
        self.last_observed: ResponseObserved | None = None
        self.last_latency_s: float | None = None  # of the call whose response is last_observed
        self.headerless = False  # the last response had no rate-limit headers
        self.poll_state: tuple | None = None  # (outcome, status) of the failing polls, logged
        self.dialect: str | None = None
        self.unreadable_logged: list[str] | None = None  # the bucket ids last said unreadable
        self.last_throttle_at: float | None = None
        self.alarm = HeadroomAlarm(settings.alert_below) if settings.alert_below else None
        self.models: tuple[str, ...] | None = None  # the endpoint's, once listed
        self.models_unlisted: str | None = None  # why the last listing failed: not empty
        self.probe_tokens: int | None = None  # what the last minimal call counted

    def finished(self, record: CallRecord) -> None:
        """What a finished call teaches: the cost of a minimal call, for /burst's question."""
        total = record.usage.total_tokens if record.usage is not None else None
        if record.kind in (CallKind.PROBE, CallKind.BURST) and total:
            self.probe_tokens = total

    def observe(self, observed: ResponseObserved, now: float) -> list[str] | None:
        """A response's head: the new picture, the history's points. Returns the bucket ids
        newly unreadable (sent, but no count or delay a server can mean), to be said once."""
        snap = observed.snapshot
        self.quota, self.last_observed, self.last_latency_s = observed.quota, observed, None
        self.facts = replace(self.facts, last_response_at=now)
        self.dialect = snap.dialect or self.dialect
        self.headerless = not snap.buckets
        for bucket in snap.buckets:
            if bucket.fraction is not None:
                self.history.add(snap.received_at, bucket.id, bucket.fraction)
        if snap.throttled:
            self.history.add_throttle(snap.received_at)
            self.last_throttle_at = snap.received_at
        unreadable = snap.extras.get("unreadable")
        news = unreadable if unreadable and unreadable != self.unreadable_logged else None
        if snap.buckets:
            self.unreadable_logged = unreadable
        return news

    def needs_tick(self, now: float) -> bool:
        """Whether its overview row changes with time: a countdown, a refill, a retry's wait."""
        retry_until = self.facts.retry_until
        return (retry_until is not None and retry_until > now) or any(
            (state.reset_in(now) or 0) > 0 for state in self.quota.buckets())

    def summary(self, now: float) -> EndpointSummary:
        return EndpointSummary(self.name, self.host, connection_state(self.facts, now),
                               self.quota.binding(now), self.last_throttle_at)

    @property
    def host(self) -> str:
        if self.settings.demo:
            return "demo (simulated API)"
        if self.client is not None:
            return self.client.endpoint.host
        return endpoint_of(self.settings).host


@dataclass(frozen=True, slots=True)
class EndpointSummary:
    """What the overview's row of one endpoint shows."""

    name: str
    host: str
    state: Connection
    binding: BucketState | None  # the bucket that runs out first
    last_throttle_at: float | None
