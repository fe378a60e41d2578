"""Gateway configuration: the shared `Settings` plus what only the gateway needs."""

import ipaddress

from pydantic import Field

from common.settings import Settings
from domain.refund_policy import RefundPolicy
from schemas import topics

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(Settings):
    gateway_max_body_bytes: int = Field(default=64 * 1024, gt=0)
    gateway_rate_limit_per_minute: int = Field(default=600, gt=0)
    gateway_produce_timeout_s: float = Field(default=5.0, gt=0)
    gateway_db_timeout_s: float = Field(default=3.0, gt=0)
    gateway_db_pool_size: int = Field(default=10, gt=0)
    gateway_wait_poll_s: float = Field(default=0.1, gt=0)
    # Where commands and notifications go (tests point these at private topics).
    commands_topic: str = topics.COMMANDS
    webhooks_topic: str = topics.WEBHOOKS
    # Comma-separated CIDRs (YooKassa publishes its own); empty = accept every source.
    webhook_allowed_networks: str = ""

    # The refund policy (CONTRACT §2, docs/subscriptions.md): full refund this many days
    # after the paid period starts, then unused whole days pro rata.
    refund_full_window_days: float = Field(default=14.0, ge=0)

    def refund_policy(self) -> RefundPolicy:
        return RefundPolicy.of_days(self.refund_full_window_days)

    def webhook_networks(self) -> list[Network]:
        parts = [part.strip() for part in self.webhook_allowed_networks.split(",")]
        return [ipaddress.ip_network(part, strict=False) for part in parts if part]
