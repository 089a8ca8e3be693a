"""/metrics as Prometheus reads it: real calls to the simulator, a real HTTP scrape, and the
exposition parsed back with prometheus-client's own parser."""

from __future__ import annotations

import math
import urllib.request

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from ratelimit_tui.core.client import QuotaClient
from ratelimit_tui.core.endpoint import Endpoint, is_loopback
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.metrics.book import MetricsBook
from ratelimit_tui.metrics.exposition import METRICS
from ratelimit_tui.metrics.listen import parse_listen
from ratelimit_tui.metrics.server import MetricsServer
from ratelimit_tui.sim.limiter import Limits

KEY = "sk-proj-very-secret-key-0123456789"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def scrape(url: str, accept: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float | None:
    matches = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls]
    assert len(matches) <= 1, (name, labels)
    return matches[0] if matches else None


@pytest.fixture
def served(clock):
    """A book served on a free loopback port, on the test's clock."""
    book = MetricsBook()
    server = MetricsServer(book, clock, "127.0.0.1", 0)
    yield book, server
    server.close()


def client_for(book: MetricsBook, name: str, base_url: str, clock) -> QuotaClient:
    book.add_endpoint(name, Secret(KEY).fingerprint())
    return QuotaClient(Endpoint(base_url, Secret(KEY), timeout_s=5, max_retries=0), "gpt-4o-mini",
                       on_event=lambda event: book.observe(name, event), clock=clock,
                       sleep=clock.sleep)


async def test_the_metrics_say_what_the_headers_said(run_sim, served, clock):
    book, server = served
    sim = run_sim(limits=Limits(rpm=60, tpm=10_000))
    client = client_for(book, "sim", sim.base_url, clock)
    try:
        await client.probe()
        record = await client.probe()
    finally:
        await client.aclose()
    clock.advance(0.5)
    found = samples(scrape(server.url))
    said = {b.id: b for b in record.snapshot.buckets}
    fp = Secret(KEY).fingerprint()
    for bucket_id in ("requests", "tokens"):
        b = said[bucket_id]
        labels = {"endpoint": "sim", "key": fp, "bucket": bucket_id}
        assert value(found, "ratelimit_limit", **labels) == b.limit
        assert value(found, "ratelimit_remaining", **labels) == b.remaining
        state = client.quota.get(bucket_id)  # what the gauge draws, at the scrape's instant
        assert value(found, "ratelimit_remaining_projected", **labels) == \
            state.shown_remaining(clock())[0]
        assert math.isclose(value(found, "ratelimit_reset_seconds", **labels),
                            state.reset_in(clock()))
    assert value(found, "ratelimit_window_seconds", bucket="requests", window="60") == 60
    assert value(found, "ratelimit_calls_total", outcome="ok") == 2
    assert value(found, "ratelimit_throttled_responses_total", endpoint="sim") == 0
    assert value(found, "ratelimit_up", endpoint="sim") == 1
    assert value(found, "ratelimit_last_response_timestamp_seconds") == \
        record.snapshot.received_at
    assert value(found, "ratelimit_retry_after_seconds") is None  # never asked: absent


async def test_429s_are_counted_and_the_wait_asked_is_kept(run_sim, served, clock):
    book, server = served
    sim = run_sim(limits=Limits(rpm=2, tpm=10_000), clock=clock)
    client = client_for(book, "tight", sim.base_url, clock)
    try:
        records = [await client.probe() for _ in range(3)]
        found = samples(scrape(server.url))
        clock.advance(60)
        later = await client.probe()
    finally:
        await client.aclose()
    assert records[-1].status == 429 and later.status == 200
    assert value(samples(scrape(server.url)), "ratelimit_retry_after_seconds") is None  # over
    assert value(found, "ratelimit_throttled_responses_total") == 1
    assert value(found, "ratelimit_calls_total", outcome="rate_limited") == 1
    assert value(found, "ratelimit_calls_total", outcome="ok") == 2
    assert value(found, "ratelimit_retry_after_seconds") == \
        records[-1].snapshot.longest_retry_after_s > 0
    assert value(found, "ratelimit_remaining", bucket="requests") == 0
    assert value(found, "ratelimit_up") == 1  # a 429 is an answer: the endpoint is up


async def test_a_failing_endpoint_is_down_and_what_nobody_said_is_absent(served, clock):
    book, server = served
    client = client_for(book, "gone", "http://127.0.0.1:9/v1", clock)  # discard: refused
    try:
        await client.probe()
    finally:
        await client.aclose()
    found = samples(scrape(server.url))
    assert value(found, "ratelimit_up", endpoint="gone") == 0
    assert value(found, "ratelimit_calls_total", outcome="connection") == 1
    for name in ("ratelimit_limit", "ratelimit_remaining", "ratelimit_reset_seconds",
                 "ratelimit_last_response_timestamp_seconds"):
        assert value(found, name) is None, name  # unknown is absent, never 0


async def test_both_formats_and_never_the_key(run_sim, served, clock):
    book, server = served
    sim = run_sim()
    client = client_for(book, "sim", sim.base_url, clock)
    try:
        await client.probe()
    finally:
        await client.aclose()
    classic, openmetrics = scrape(server.url), scrape(server.url, OPENMETRICS)
    assert openmetrics.endswith("# EOF\n") and "# EOF" not in classic
    for text, parse in ((classic, text_string_to_metric_families), (openmetrics, parse_om)):
        assert KEY not in text and KEY[-12:] not in text
        assert f'key="{Secret(KEY).fingerprint()}"' in text
        families = {f.name.removesuffix("_total"): f for f in parse(text)}
        assert families.keys() == METRICS.keys()  # every family is there, with its help
        assert all(f.documentation == METRICS[name][1] for name, f in families.items())


def test_listen_addresses():
    assert parse_listen("9464") == ("127.0.0.1", 9464)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("host:port", "1:99999", "h:"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")


async def test_the_dashboard_serves_what_its_gauges_show():
    import asyncio
    import dataclasses

    from scenes import ScriptedTime
    from test_tui import log_text
    from tui_helpers import demo_app, ready, send, wait_until

    from ratelimit_tui.config import load_settings

    settings = dataclasses.replace(load_settings({"demo": True, "poll_s": "off"}, env={}),
                                   metrics=("127.0.0.1", 0))
    scripted = ScriptedTime()
    app = demo_app(settings, scripted=scripted, limits=Limits(5, 4000))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: app.metrics_server is not None, what="/metrics")
        await send(pilot, "/burst 7")
        await wait_until(pilot, lambda: "burst of 7" in log_text(app), what="the burst")
        scripted.advance(2.0)  # the scrape projects, as the gauge does, to the same instant
        found = samples(await asyncio.to_thread(scrape, app.metrics_server.url))
        gauge = app.quota_panel.gauges["requests"].state
        assert value(found, "ratelimit_remaining", bucket="requests") == 0
        assert gauge.bucket.remaining == 0
        assert value(found, "ratelimit_remaining_projected", bucket="requests") == \
            gauge.shown_remaining(scripted())[0]
        assert value(found, "ratelimit_throttled_responses_total") == 2
        assert value(found, "ratelimit_calls_total", outcome="ok") == 5
        assert f"serving metrics on {app.metrics_server.url}" in log_text(app)
