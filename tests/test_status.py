"""connection_state: one rule for the status line, from the facts."""

from ratelimit_tui.core.status import Connection, ConnectionFacts, connection_state

T0 = 1_780_000_000.0


def test_the_most_current_true_thing_is_shown():
    ready = ConnectionFacts(ready=True, last_response_at=T0)
    assert connection_state(ConnectionFacts(), T0) == Connection.STARTING
    assert connection_state(ConnectionFacts(startup_error="port in use"), T0) == Connection.ERROR
    nothing_yet = ConnectionFacts(ready=True)
    assert connection_state(nothing_yet, T0) == Connection.UNCONFIRMED  # not live before news
    assert connection_state(ready, T0 + 5) == Connection.LIVE
    assert connection_state(ready, T0 + 61) == Connection.STALE
    slow = ConnectionFacts(ready=True, last_response_at=T0, poll_s=120.0)
    assert connection_state(slow, T0 + 200) == Connection.LIVE  # three polls not yet missed
    failed = ConnectionFacts(ready=True, last_response_at=T0, failure="404")
    assert connection_state(failed, T0 + 1) == Connection.ERROR
    waiting = ConnectionFacts(ready=True, last_response_at=T0, failure="500", retry_until=T0 + 9)
    assert connection_state(waiting, T0 + 1) == Connection.RETRYING
    assert connection_state(waiting, T0 + 10) == Connection.ERROR
