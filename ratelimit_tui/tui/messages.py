"""The seam between the quota client's work and the widgets: typed messages."""

from __future__ import annotations

from textual.message import Message

from ratelimit_tui.core.events import CallRecord, ResponseObserved, RetryScheduled


class QuotaUpdated(Message):
    """A response's headers arrived (at a stream's first byte, not its end)."""

    def __init__(self, observed: ResponseObserved, endpoint: str) -> None:
        super().__init__()
        self.observed, self.endpoint = observed, endpoint


class RetryWaiting(Message):
    """The client is about to wait before retrying; the wait can be cancelled with Esc."""

    def __init__(self, retry: RetryScheduled, endpoint: str) -> None:
        super().__init__()
        self.retry, self.endpoint = retry, endpoint


class CallFinished(Message):
    def __init__(self, record: CallRecord, endpoint: str) -> None:
        super().__init__()
        self.record, self.endpoint = record, endpoint


class ClientReady(Message):
    """The SDK is imported, in demo mode the simulator listens, and the stored history of each
    endpoint is loaded (or `store_error` says why not). Both by endpoint name."""

    def __init__(self, base_urls: dict[str, str | None], store=None,
                 histories: dict | None = None, store_error: str | None = None) -> None:
        super().__init__()
        self.base_urls = base_urls
        self.store, self.histories, self.store_error = store, histories or {}, store_error


class HistoryProblem(Message):
    """The history file could not be written (or can be again)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class StartupFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class MetricsServing(Message):
    """--metrics: the /metrics server listens (`server`), or `error` says why it does not."""

    def __init__(self, server=None, error: str | None = None) -> None:
        super().__init__()
        self.server, self.error = server, error
