"""The connection state the status line shows, derived in one place from the facts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

STALE_AFTER_S = 60.0  # no response for this long: the numbers are projections, say so


class Connection(StrEnum):
    STARTING = "starting"
    UNCONFIRMED = "no response yet"  # ready, but nothing has answered: not yet live
    LIVE = "live"
    STALE = "stale"
    RETRYING = "retrying"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ConnectionFacts:
    ready: bool = False  # the client exists (the SDK is loaded, the simulator listens)
    startup_error: str | None = None
    last_response_at: float | None = None  # epoch seconds of the latest response head
    failure: str | None = None  # the latest finished call's error, if it broke (Outcome.broken)
    retry_until: float | None = None  # a chat waits to retry until then
    poll_s: float | None = None


def connection_state(facts: ConnectionFacts, now: float) -> Connection:
    """A wait under way beats an error beats stale beats live: the most current true thing
    is what is shown."""
    if facts.startup_error is not None:
        return Connection.ERROR
    if not facts.ready:
        return Connection.STARTING
    if facts.retry_until is not None and facts.retry_until > now:
        return Connection.RETRYING
    if facts.failure is not None:
        return Connection.ERROR
    if facts.last_response_at is None:
        return Connection.UNCONFIRMED
    if now - facts.last_response_at > stale_after(facts.poll_s):
        return Connection.STALE
    return Connection.LIVE


def stale_after(poll_s: float | None) -> float:
    """Seconds without a response after which the numbers are only projections: a minute,
    or three polls when polling is slower than that."""
    return max(STALE_AFTER_S, 3 * (poll_s or 0.0))
