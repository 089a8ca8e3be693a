"""The low-headroom alert: the binding limit fell under a share of itself. Said once per
crossing; the gauge and the status line show it for as long as it lasts."""

from __future__ import annotations

from ratelimit_tui.core.quota import BucketState, QuotaState


def under(state: BucketState | None, now: float, below: float) -> bool:
    """Whether a bucket shows less than `below` (a share) left, as its gauge counts it."""
    share = state.shown_share(now) if state is not None else None
    return share is not None and share < below


class HeadroomAlarm:
    """Goes off when the binding limit's share, as its gauge shows it, falls under `below`;
    goes off again only after a response reported twice that much left. Refills projected
    between responses do not re-arm it: a bucket that others keep draining is one crossing,
    not one per poll."""

    def __init__(self, below_percent: float) -> None:
        self.below = below_percent / 100
        self.low: BucketState | None = None  # the binding bucket, while under the threshold
        self.armed = True

    def reported(self, quota: QuotaState, at: float) -> None:
        """A response's picture (each one: a burst's are drawn together, once)."""
        state = quota.binding(at)
        fraction = state.bucket.fraction if state is not None else None
        if fraction is not None and fraction >= min(1.0, 2 * self.below):
            self.armed = True

    def check(self, quota: QuotaState, now: float) -> bool:
        """Whether to say it now (once per crossing)."""
        state = quota.binding(now)
        self.low = state if under(state, now, self.below) else None
        if self.low is None or not self.armed:
            return False
        self.armed = False
        return True
