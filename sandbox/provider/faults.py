"""The provider's fault knobs (see ``POST /sandbox/faults``)."""

from __future__ import annotations

from pydantic import Field

from sandbox.faults import BasicFaults


class ProviderFaults(BasicFaults):
    timeout_after_commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    duplicate_webhook_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_webhook_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    webhook_delay_ms: int = Field(default=0, ge=0, le=3_600_000)
    refund_pending_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of refunds answered ``pending``; they settle later, announced by webhook."""
    refund_canceled_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of those pending refunds that end ``canceled`` instead of ``succeeded``."""
    forbidden_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of ``/v3/`` calls refused 403 ``forbidden`` before doing anything."""
    too_many_requests_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of ``/v3/`` calls refused 429 ``too_many_requests`` (with ``Retry-After``)."""
    retry_after_s: int = Field(default=1, ge=0, le=3600)
