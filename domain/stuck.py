"""Which payments are really stuck: the one rule behind the reconciler's `billing_stuck` gauge
and the admin's "Stuck payments" tile and filter.

Stuck, not merely unpaid: an `accepted` payment older than the re-drive age was never taken
by the commands processor (the reconciler or scheduler should have re-driven it by now); a
`pending` payment older than the provider's own expiry of an unpaid payment plus one full
re-check interval was canceled by the provider and re-read by the reconciler since, yet is
still pending here: we lost the news. A user still looking at the payment page is `pending`
and younger than that: not stuck. Ages count from `created_at`, which nothing moves (a
re-check touching `updated_at` must not hide a stuck row).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.payments import PaymentStatus

AGE_COLUMN = "created_at"


class Ages(Protocol):
    """The settings the rule reads (`common.settings.PipelineAges`, same env vars everywhere)."""

    @property
    def reconcile_after_seconds(self) -> float: ...
    @property
    def provider_pending_expiry_s(self) -> float: ...
    @property
    def reconcile_backoff_cap_seconds(self) -> float: ...


@dataclass(frozen=True)
class StuckRule:
    redrive_after: timedelta  # reconcile_after_seconds
    provider_pending_expiry: timedelta  # provider_pending_expiry_s
    recheck_cap: timedelta  # reconcile_backoff_cap_seconds: the longest wait between re-reads

    @classmethod
    def of(cls, settings: Ages) -> "StuckRule":
        return cls(
            timedelta(seconds=settings.reconcile_after_seconds),
            timedelta(seconds=settings.provider_pending_expiry_s),
            timedelta(seconds=settings.reconcile_backoff_cap_seconds),
        )

    def ages(self) -> dict[PaymentStatus, timedelta]:
        """Per status that can be stuck, the age past which a payment in it is stuck."""
        return {
            PaymentStatus.ACCEPTED: self.redrive_after,
            PaymentStatus.PENDING: self.provider_pending_expiry + self.recheck_cap,
        }

    def cutoffs(self, now: datetime) -> dict[PaymentStatus, datetime]:
        """Per status, the `created_at` before which a payment in it is stuck."""
        return {status: now - age for status, age in self.ages().items()}

    def is_stuck(self, status: str, created_at: datetime, now: datetime) -> bool:
        cutoff = self.cutoffs(now).get(PaymentStatus(status))
        return cutoff is not None and created_at < cutoff
