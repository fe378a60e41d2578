"""Provider settings, read from the environment (see ``sandbox/README.md``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from sandbox.settings import SimulatorSettings

DEV_SECRET_KEY = "test_dev_only_secret_change_me"


class ProviderSettings(SimulatorSettings):
    provider_url: str = "http://127.0.0.1:8081"
    provider_shop_id: str = "100500"
    provider_secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    provider_db_path: Path = Path(".run/sandbox/provider.sqlite3")
    provider_db_synchronous: str = "NORMAL"
    gateway_url: str = "http://127.0.0.1:8000"
    provider_webhook_url: str | None = None
    provider_commission_percent: str = "3.5"
    webhook_backoff_start_s: float = 0.5
    webhook_backoff_cap_s: float = 30.0
    webhook_timeout_s: float = 5.0
    provider_receipts_required: bool = False
    """The shop's 54-FZ receipts switch: a payment or refund without a valid receipt → 400."""
    provider_pending_expiry_s: float = 3600.0
    """An unpaid payment is canceled ``expired_on_confirmation`` this long after creation."""
    provider_capture_expiry_s: float = 7 * 24 * 3600.0
    """A ``waiting_for_capture`` payment is canceled ``expired_on_capture`` after this."""
    provider_refund_settle_s: float = 2.0
    """How long a refund made ``pending`` by the ``refund_pending_rate`` fault stays pending."""
    provider_receipt_delay_s: float = 1.0
    """``receipt_registration`` goes ``pending`` → ``succeeded`` this long after the money moved."""
    provider_sweep_interval_s: float = 0.25

    @property
    def public_url(self) -> str:
        return self.provider_url.rstrip("/")

    @property
    def webhook_url(self) -> str:
        if self.provider_webhook_url:
            return self.provider_webhook_url
        return self.gateway_url.rstrip("/") + "/api/v1/webhooks/yookassa"

    def validate_for_start(self) -> None:
        self.refuse_default_secrets({"provider_secret_key": DEV_SECRET_KEY})
