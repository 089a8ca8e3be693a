"""The embedded simulator's server sleeps between ticks and still exits the moment it is asked."""

import signal
import threading

import httpx2
import pytest

from ratelimit_tui.sim.embedded import EmbeddedSimulator, QuietServer


@pytest.fixture(autouse=True)
def hour_long_ticks(monkeypatch):
    """A server that would not look at should_exit again for an hour on its own: it can only
    exit because it was woken."""
    monkeypatch.setattr(QuietServer, "tick_s", 3600.0)


@pytest.fixture
def idle_sim(run_sim):
    return run_sim()


def models(sim: EmbeddedSimulator) -> httpx2.Response:
    with httpx2.Client() as http:
        return http.get(f"{sim.base_url}/models", headers={"Authorization": "Bearer sk-test"})


def test_stop_wakes_the_sleeping_server(idle_sim):
    assert models(idle_sim).headers["date"]  # the tick at start-up set it, as uvicorn's does
    idle_sim.stop(timeout=30.0)
    assert not idle_sim._thread.is_alive()


def test_a_signal_wakes_the_sleeping_server(idle_sim):
    """`ratelimit-tui sim` runs the server in the main thread, where Ctrl-C calls handle_exit
    (here from this thread: the server's runs elsewhere)."""
    idle_sim._server.handle_exit(signal.SIGINT, None)
    idle_sim._thread.join(30.0)
    assert not idle_sim._thread.is_alive()


def test_stop_before_the_server_loop_runs_is_not_missed():
    sim = EmbeddedSimulator()
    sim._server.request_exit()  # before start: its first tick sees it
    thread = threading.Thread(target=sim._server.run, kwargs={"sockets": [sim._sock]})
    thread.start()
    thread.join(30.0)
    assert not thread.is_alive()
    sim._sock.close()
