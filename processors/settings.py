"""Settings of the four processor deployables (commands, webhooks, relay, reconciler)."""

from datetime import timedelta

from pydantic import Field

from common.settings import PipelineAges
from schemas.topics import COMMANDS, DLQ, EVENTS, WEBHOOKS


class ProcessorSettings(PipelineAges):
    commands_topic: str = COMMANDS
    webhooks_topic: str = WEBHOOKS
    events_topic: str = EVENTS
    dlq_topic: str = DLQ  # messages the processors give up on (CONTRACT §3)
    commands_group: str = "billing-processor-commands"
    webhooks_group: str = "billing-processor-webhooks"

    # key-level parallelism; 1 = one message at a time (the benchmark's baseline)
    processor_max_in_flight: int = Field(default=256, ge=1)
    db_pool_size: int = Field(default=20, ge=1)

    # group commit (processors/group_commit.py): handlers' transaction bodies that reach
    # their commit point together share one transaction, at most this many (1 = each alone)
    processor_group_max: int = Field(
        default=64,
        ge=1,
        description="handlers' transactions committed together at most (1 = each alone)",
    )

    provider_timeout_s: float = Field(default=5.0, gt=0)
    provider_attempts: int = Field(default=4, ge=1)
    provider_backoff_s: float = Field(default=0.2, ge=0)
    # keep-alive connections to the provider, and calls in flight to it (the rest wait their
    # turn); Little's law: 64 / 0.05 s latency ≈ 1,280 calls/s, 64 / 0.3 s ≈ 210 calls/s
    provider_max_connections: int = Field(default=64, ge=1)

    webhook_row_attempts: int = Field(default=6, ge=1)
    missing_row_backoff_s: float = Field(default=0.5, ge=0)

    reconcile_interval_s: float = Field(default=1.0, gt=0)
    reconcile_batch: int = Field(default=200, ge=1)
    # A payment or refund the provider never answered readably ends `failed` after this
    # (processors/give_up.py); under YooKassa's 24 h Idempotence-Key memory.
    reconcile_give_up_after_seconds: float = Field(default=23 * 3600.0, gt=0)

    # processors/gauges.py (run by the reconciler): how often, and which groups' lag
    metrics_collect_interval_s: float = Field(default=10.0, gt=0)
    metrics_lag_groups: str = (
        "billing-processor-commands=billing.commands.v1,"
        "billing-processor-webhooks=billing.webhooks.v1,"
        "billing-consumer-subscriptions=billing.events.v1,"
        "billing-consumer-notifications=billing.events.v1"
    )

    relay_batch: int = Field(default=500, ge=1)
    relay_poll_s: float = Field(default=2.0, gt=0)  # a fallback: NOTIFY wakes the relay
    relay_lock_key: int = 0x6F1C6C1E
    # The topics this relay owns (comma-separated; empty = every outbox row). Rows for any
    # other topic are left to their own relay, so a stray row (a benchmark's or a test's
    # private topic that no longer exists) can never hold the billing events back.
    relay_topics: str = EVENTS

    # Subscriptions (docs/subscriptions.md): how long before a renewal charge the user hears
    # `renewal_upcoming` (0: never); after how long an autopayment whose outcome is unknown
    # is looked up with the provider's list call before anything is sent again (YooKassa
    # forgets an Idempotence-Key after 24 h); how often the scheduler looks for due work.
    renewal_reminder_lead_s: float = Field(default=3 * 86400.0, ge=0)
    renewal_lookup_after_s: float = Field(default=86400.0, ge=0)
    scheduler_interval_s: float = Field(default=1.0, gt=0)
    scheduler_batch: int = Field(default=200, ge=1)

    @property
    def reminder_lead(self) -> timedelta:
        return timedelta(seconds=self.renewal_reminder_lead_s)

    @property
    def lag_group_topics(self) -> dict[str, str]:
        """{consumer group: its topic} from `group=topic,...`."""
        pairs = (p.strip().partition("=") for p in self.metrics_lag_groups.split(","))
        return {group: topic for group, _, topic in pairs if group and topic}

    @property
    def relay_topic_list(self) -> list[str]:
        return [t.strip() for t in self.relay_topics.split(",") if t.strip()]
