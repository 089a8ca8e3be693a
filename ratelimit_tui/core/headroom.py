"""The low-headroom alert: the binding limit fell under a share of itself. Said once per
crossing; the gauge and the status line show it for as long as it lasts."""

from __future__ import annotations

from ratelimit_tui.core.quota import BucketState, QuotaState


def under(state: BucketState | None, now: float, below: float) -> bool:
    """Whether a bucket shows less than `below` (a share) left, as its gauge counts it."""
    share = state.shown_share(now) if state is not None else None
    return share is not None and share < below


class HeadroomAlarm:
    def __init__(self, below_percent: float) -> None:
        self.below = below_percent / 100
        self.low: BucketState | None = None  # the binding bucket, while under the threshold

    def check(self, quota: QuotaState, now: float) -> bool:
        """Whether the binding limit just went under the threshold (once per crossing: it
        must climb back over before it alerts again)."""
        state = quota.binding(now)
        was_low = self.low is not None
        self.low = state if under(state, now, self.below) else None
        return self.low is not None and not was_low
