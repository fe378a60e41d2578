"""Gateway configuration: the shared `Settings` plus what only the gateway needs."""

import ipaddress
from typing import Self

from pydantic import Field, model_validator

from common.outbox import CHANNEL as OUTBOX_CHANNEL
from common.settings import Settings
from schemas import topics

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The cinema's site, and any port on the loopback for development (docs/security.md).
DEFAULT_RETURN_URL_ORIGINS = "https://cinema.example,http://localhost:*,http://127.0.0.1:*"


class GatewaySettings(Settings):
    gateway_max_body_bytes: int = Field(default=64 * 1024, gt=0)
    gateway_rate_limit_per_minute: int = Field(default=600, gt=0)
    gateway_produce_timeout_s: float = Field(default=5.0, gt=0)
    gateway_db_timeout_s: float = Field(default=3.0, gt=0)
    gateway_db_pool_size: int = Field(default=10, gt=0)
    # The accept statements of concurrent POSTs (gateway/accept_batches.py): how many may be
    # in flight at once before the next POSTs wait to run as one, and at most how many in one.
    gateway_accept_writers: int = Field(default=2, gt=0)
    gateway_accept_batch_max: int = Field(default=64, gt=0)
    # `Prefer: wait`: requests held at once, per user and in all; beyond, 202 at once.
    gateway_wait_max_per_user: int = Field(default=4, ge=0)
    gateway_wait_max_total: int = Field(default=200, ge=0)
    # The channel the outbox NOTIFYs at commit (common/outbox.py); a test listens on its own.
    gateway_wait_channel: str = Field(default=OUTBOX_CHANNEL, min_length=1, max_length=63)
    # Where `return_url` may point: comma-separated origins, `scheme://host[:port]`, with
    # `:*` for any port. Anything else is 422.
    gateway_return_url_origins: str = DEFAULT_RETURN_URL_ORIGINS
    # Where commands and notifications go (tests point these at private topics).
    commands_topic: str = topics.COMMANDS
    webhooks_topic: str = topics.WEBHOOKS
    # Comma-separated CIDRs (YooKassa's, docs/security.md); empty = accept every source,
    # which production refuses.
    webhook_allowed_networks: str = ""
    webhook_max_body_bytes: int = Field(default=16 * 1024, gt=0)
    # Notifications a minute, per source address and for all sources together.
    webhook_rate_per_source_per_minute: int = Field(default=600, gt=0)
    webhook_rate_total_per_minute: int = Field(default=3000, gt=0)

    @model_validator(mode="after")
    def _parse_lists_at_start(self) -> Self:
        """A malformed CIDR or origin stops the start-up, not a request later."""
        self.webhook_networks()
        for origin in self.return_url_origins():
            if "://" not in origin:
                raise ValueError(f"GATEWAY_RETURN_URL_ORIGINS: {origin!r} is not an origin")
        return self

    def webhook_networks(self) -> list[Network]:
        parts = [part.strip() for part in self.webhook_allowed_networks.split(",")]
        return [ipaddress.ip_network(part, strict=False) for part in parts if part]

    def return_url_origins(self) -> list[str]:
        return [o.strip().lower() for o in self.gateway_return_url_origins.split(",") if o.strip()]

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.webhook_allowed_networks.strip():
            problems.append(
                "WEBHOOK_ALLOWED_NETWORKS is empty: anyone could post notifications"
                " (set YooKassa's published ranges, docs/security.md)"
            )
        return problems
