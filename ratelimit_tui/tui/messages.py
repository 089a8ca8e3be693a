"""The seam between the quota client's work and the widgets: typed messages."""

from __future__ import annotations

from textual.message import Message

from ratelimit_tui.core.events import CallRecord, ResponseObserved, RetryScheduled


class QuotaUpdated(Message):
    """A response's headers arrived (at a stream's first byte, not its end)."""

    def __init__(self, observed: ResponseObserved) -> None:
        super().__init__()
        self.observed = observed


class RetryWaiting(Message):
    """The client is about to wait before retrying; the wait can be cancelled with Esc."""

    def __init__(self, retry: RetryScheduled) -> None:
        super().__init__()
        self.retry = retry


class CallFinished(Message):
    def __init__(self, record: CallRecord) -> None:
        super().__init__()
        self.record = record


class ClientReady(Message):
    """The SDK is imported and, in demo mode, the simulator listens."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__()
        self.base_url = base_url


class StartupFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
