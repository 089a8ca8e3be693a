"""The /metrics endpoint: prometheus-client's WSGI app (which picks OpenMetrics or the classic
text format by the scraper's Accept header) on a small threading server of our own, so that a
scraper that stalls is dropped and nothing is logged per scrape."""

from __future__ import annotations

import contextlib
import ipaddress
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
    _closing = False

    def serve_until_closed(self) -> None:
        """serve_forever wakes twice a second to look for shutdown(), and shutdown() waits for
        that look, so every exit of `watch` waited up to half a second. This sleeps until a
        scrape comes, and close() wakes it with a connection of its own."""
        while not self._closing:
            self.handle_request()

    def close(self) -> None:
        self._closing = True
        host, port = self.server_address[:2]
        if ipaddress.ip_address(host).is_unspecified:  # listening on every address
            host = "::1" if self.address_family == socket.AF_INET6 else "127.0.0.1"
        with contextlib.suppress(OSError):  # refused: it is not listening any more anyway
            socket.create_connection((host, port), timeout=1).close()


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
        self._thread = threading.Thread(target=self._httpd.serve_until_closed,
                                        name="metrics", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def close(self) -> None:
        self._httpd.close()
        self._thread.join()
        self._httpd.server_close()
