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
    # A fetch is answered once this many bytes are there or this long after it came, which
    # comes first (Kafka's fetch.min.bytes / fetch.max.wait.ms). At the rates flows arrive
    # no fetch reaches 64 KB: the broker gathers what arrives in 200 ms into one answer, where
    # a fetch answered at the first byte brought one record at a time and its cycle cost a
    # consumer more CPU than its handler. The price: a record waits up to 200 ms (≈ 100 ms on
    # average) before its consumer sees it, and an idle consumer fetches 5 times a second
    # instead of every 5 s. 200, not 100: half the idle fetches (the idle stack stays under
    # round 10's CPU) for a tenth of a second more per hop. A replay or a backlog fills 64 KB
    # at once: no wait. docs/performance.md, round 11 (cons) and round 12.
    consumer_fetch_max_wait_ms: int = Field(default=200, ge=0)
    consumer_fetch_min_bytes: int = Field(default=65536, ge=1)

    # Sent as `Authorization: Bearer ...` to Auth when set; the sandbox needs none.
    auth_service_token: SecretStr | None = None
