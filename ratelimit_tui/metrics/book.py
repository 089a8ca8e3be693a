"""What the metrics know of each endpoint, fed by the client's events.

No Prometheus here: the watcher and the dashboard feed a book from the loop that makes the
calls, and the exposition reads it from the HTTP server's thread. Each endpoint's facts are an
immutable value replaced whole, so a scrape never sees half an update."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ratelimit_tui.core.events import CallRecord, Event, Outcome, ResponseObserved
from ratelimit_tui.core.quota import QuotaState


@dataclass(frozen=True, slots=True)
class EndpointFacts:
    name: str
    key: str  # the key's fingerprint, never the key
    quota: QuotaState = field(default_factory=QuotaState)
    calls: Mapping[str, int] = field(default_factory=dict)  # outcome -> calls; never mutated
    throttled: int = 0  # 429 responses, every attempt counted
    retry_after_s: float | None = None  # the wait the latest response asked for, if any
    last_response_at: float | None = None  # epoch seconds
    up: bool | None = None  # did the latest finished call get an answer; None before one

    def observed(self, event: Event) -> EndpointFacts:
        """These facts with one more event."""
        if isinstance(event, ResponseObserved):
            snap = event.snapshot
            asked = snap.longest_retry_after_s  # what the client waits: the longest spelling
            return replace(self, quota=event.quota, last_response_at=snap.received_at,
                           throttled=self.throttled + snap.throttled,
                           retry_after_s=snap.retry_after_s if asked is None else asked)
        if isinstance(event, CallRecord):
            calls = {**self.calls, event.outcome: self.calls.get(event.outcome, 0) + 1}
            up = self.up if event.outcome == Outcome.CANCELLED else not event.outcome.broken
            return replace(self, calls=calls, up=up)
        return self  # a retry being scheduled changes no metric


class MetricsBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, EndpointFacts] = {}

    def add_endpoint(self, name: str, key: str) -> None:
        with self._lock:
            self._facts[name] = EndpointFacts(name, key)

    def observe(self, name: str, event: Event) -> None:
        with self._lock:
            self._facts[name] = self._facts[name].observed(event)

    def down(self, name: str) -> None:
        """Its poller stopped: nothing it says is current any more."""
        with self._lock:
            self._facts[name] = replace(self._facts[name], up=False)

    def facts(self) -> list[EndpointFacts]:
        with self._lock:
            return list(self._facts.values())
