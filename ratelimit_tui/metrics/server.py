"""The /metrics endpoint: prometheus-client's WSGI app (which picks OpenMetrics or the classic
text format by the scraper's Accept header) on a small threading server of our own, so that a
scraper that stalls is dropped and nothing is logged per scrape."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from ratelimit_tui.metrics.book import MetricsBook
from ratelimit_tui.metrics.exposition import QuotaCollector

SCRAPER_TIMEOUT_S = 10.0  # a scraper silent for this long is dropped: its thread ends


class _QuietHandler(WSGIRequestHandler):
    timeout = SCRAPER_TIMEOUT_S  # applied to each connection by StreamRequestHandler

    def log_message(self, format: str, *args) -> None:
        pass  # a line per scrape would bury the watcher's own


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape under way never holds the process at exit


class MetricsServer:
    """Serves `book` on host:port from a daemon thread until closed."""

    def __init__(self, book: MetricsBook, clock: Callable[[], float], host: str,
                 port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(QuotaCollector(book, clock))
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("_Bound", (_Server,), {"address_family": family})
        self._httpd = make_server(host, port, make_wsgi_app(registry), server_class,
                                  handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
