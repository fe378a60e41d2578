"""Settings of the two consumer processes (env vars, validated at start-up)."""

from pydantic import Field, SecretStr

from common.settings import Settings
from schemas.topics import DLQ, EVENTS


class ConsumerSettings(Settings):
    consumer_events_topic: str = EVENTS
    consumer_dlq_topic: str = DLQ
    consumer_group_id: str | None = None  # tests give each run its own group

    # Default policy: 6 attempts, sleeps of ~0.3, 0.6, 1.2, 2.4, 4 s with jitter: ~10 s.
    consumer_retry_attempts: int = Field(default=6, ge=1)
    consumer_retry_base_seconds: float = Field(default=0.3, ge=0)
    consumer_retry_max_seconds: float = Field(default=4.0, ge=0)
    # Pause between tries while PostgreSQL or Kafka is down (no attempt is counted).
    consumer_outage_max_seconds: float = Field(default=5.0, gt=0)
    consumer_http_timeout_seconds: float = Field(default=5.0, gt=0)
    consumer_max_buffered_per_partition: int = Field(default=200, ge=1)

    # Sent as `Authorization: Bearer ...` to Auth when set; the sandbox needs none.
    auth_service_token: SecretStr | None = None
