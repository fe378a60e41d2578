"""The retry policy and the shape of a dead letter."""

import uuid

from common.inbox import Origin
from common.retry import RetryPolicy
from consumers.delivery import dead_letter_for
from schemas import ids


def test_backoff_doubles_within_jitter_and_stays_under_the_cap() -> None:
    policy = RetryPolicy(attempts=6, base_seconds=0.3, max_seconds=4.0)
    for attempt, ceiling in [(1, 0.3), (2, 0.6), (3, 1.2), (4, 2.4), (5, 4.0), (9, 4.0)]:
        delays = [policy.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_default_policy_gives_up_after_about_ten_seconds() -> None:
    policy = RetryPolicy()
    worst = sum(min(policy.max_seconds, policy.base_seconds * 2**i) for i in range(5))
    assert 5 <= worst <= 12 and policy.attempts == 6


def test_dead_letter_keeps_the_origin_and_has_a_deterministic_id() -> None:
    key = str(uuid.uuid4())
    origin = Origin("billing.events.v1", 7, 42, key, b'{"type": "x"}')
    letter = dead_letter_for("consumer-subscriptions", origin, "boom")
    again = dead_letter_for("consumer-subscriptions", origin, "boom again")
    assert (
        letter.message_id
        == again.message_id
        == ids.message_id("DeadLetter", "consumer-subscriptions", "billing.events.v1:7:42")
    )
    assert (letter.original_key, letter.original_value) == (key, '{"type": "x"}')
    assert (letter.original_partition, letter.original_offset) == (7, 42)
