"""The provider's fault knobs (see ``POST /sandbox/faults``)."""

from __future__ import annotations

from pydantic import Field

from sandbox.faults import BasicFaults


class ProviderFaults(BasicFaults):
    timeout_after_commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    duplicate_webhook_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_webhook_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    webhook_delay_ms: int = Field(default=0, ge=0, le=3_600_000)
