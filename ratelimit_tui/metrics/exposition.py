"""The book as Prometheus metrics, through prometheus-client: a collector that turns each
scrape into families (projections and countdowns computed at scrape time), and its HTTP server.

Every name follows the Prometheus conventions: base units (`_seconds`), `_total` on counters.
Labels: `endpoint` (the config's name), `key` (the key's 12-character fingerprint), `bucket`
(metric and scope, as the gauges name it) and `window` (seconds, or `unknown`). A value nobody
reported is absent, never 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ratelimit_tui.core.format import nominal_window
from ratelimit_tui.core.model import WindowSource
from ratelimit_tui.metrics.book import EndpointFacts, MetricsBook

ENDPOINT_LABELS = ("endpoint", "key")
BUCKET_LABELS = (*ENDPOINT_LABELS, "bucket", "window")

# name -> (kind, help). The README's table of metrics is this table.
METRICS: dict[str, tuple[str, str]] = {
    "ratelimit_limit": ("gauge", "The bucket's limit, as the latest response that reported it "
                        "said (requests or tokens per window)."),
    "ratelimit_remaining": ("gauge", "What was left in the bucket, as the latest response that "
                            "reported it said."),
    "ratelimit_remaining_projected": ("gauge", "What is left at scrape time: the latest report "
                                      "refilled at the bucket's rate since, rounded down (the "
                                      "dashboard's ~N)."),
    "ratelimit_reset_seconds": ("gauge", "Seconds from scrape time until the bucket is full "
                                "again, or its window starts anew."),
    "ratelimit_window_seconds": ("gauge", "The bucket's window: named by the header or the "
                                 "provider, or inferred from the refill and snapped to a "
                                 "minute, hour or day."),
    "ratelimit_last_response_timestamp_seconds": ("gauge", "When the endpoint last answered "
                                                  "(Unix time)."),
    "ratelimit_calls": ("counter", "Calls that ended, by outcome (ok, rate_limited, "
                        "server_error, timeout, connection, ...)."),
    "ratelimit_throttled_responses": ("counter", "HTTP 429 responses, every attempt counted."),
    "ratelimit_retry_after_seconds": ("gauge", "The wait the latest response asked for (the "
                                      "longest of retry-after, its -ms form and the error "
                                      "body); absent when it asked none."),
    "ratelimit_up": ("gauge", "1 when the endpoint's latest call got an answer (a 429 "
                     "included), 0 while its calls fail."),
}


class QuotaCollector(Collector):
    """Reads the book at each scrape; no state of its own."""

    def __init__(self, book: MetricsBook, clock: Callable[[], float]) -> None:
        self.book, self.clock = book, clock

    def describe(self) -> list[Metric]:
        return []  # names vary with nothing: registering need not collect

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        families = {name: _family(name) for name in METRICS}
        for facts in self.book.facts():
            _add_endpoint(families, facts, now)
        yield from families.values()


def _family(name: str) -> Metric:
    kind, text = METRICS[name]
    labels = BUCKET_LABELS if name in _BUCKET_METRICS else ENDPOINT_LABELS
    if name == "ratelimit_calls":
        labels = (*ENDPOINT_LABELS, "outcome")
    factory = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    return factory(name, text, labels=labels)


_BUCKET_METRICS = ("ratelimit_limit", "ratelimit_remaining", "ratelimit_remaining_projected",
                   "ratelimit_reset_seconds", "ratelimit_window_seconds")


def _add_endpoint(families: dict[str, Metric], facts: EndpointFacts, now: float) -> None:
    who = [facts.name, facts.key]
    for state in facts.quota.buckets():
        b = state.bucket
        window = nominal_window(b.window_s, b.window_source == WindowSource.INFERRED)
        labels = [*who, b.id, "unknown" if window is None else f"{window:g}"]
        values = (b.limit, b.remaining, state.shown_remaining(now)[0], state.reset_in(now),
                  window)
        for name, value in zip(_BUCKET_METRICS, values, strict=True):
            if value is not None:
                families[name].add_metric(labels, value)
    for outcome, calls in sorted(facts.calls.items()):
        families["ratelimit_calls"].add_metric([*who, outcome], calls)
    families["ratelimit_throttled_responses"].add_metric(who, facts.throttled)
    for name, value in (("ratelimit_last_response_timestamp_seconds", facts.last_response_at),
                        ("ratelimit_retry_after_seconds", facts.retry_after_s),
                        ("ratelimit_up", None if facts.up is None else float(facts.up))):
        if value is not None:
            families[name].add_metric(who, value)
