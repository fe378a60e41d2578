"""The consumers' delivery policy on the common run loop: retry, then dead-letter.

For each record: decode it and run the handler (common/runloop.py does the lanes, the
commits and the retries). An undecodable record or a `PermanentError` is dead-lettered at
once; a `TransientError` or an unexpected exception is retried with exponential backoff and
jitter, then dead-lettered once attempts run out. An outage of PostgreSQL or Kafka is
different: the message is fine, the world is not, so the loop waits (capped backoff) without
counting attempts and without moving the offset — nothing is lost and nothing is
dead-lettered for an outage.

A dead letter is produced to billing.dlq.v1 (keyed by the original key) and inserted into
`payments_history.dead_letters` by `common.dead_letters.DeadLetters` (shared with the
processors); only then does the record count as done and its offset move.
"""

import logging

from common.dead_letters import DeadLetters, dead_letter_for, reason
from common.retry import OUTAGES, RetryPolicy
from common.runloop import MessageHandler
from consumers.errors import PermanentError
from consumers.settings import ConsumerSettings
from schemas.codec import UndecodableMessage

__all__ = ["DeadLetters", "Handler", "dead_letter_for", "policy_from", "reason"]

log = logging.getLogger(__name__)

Handler = MessageHandler


def policy_from(settings: ConsumerSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.consumer_retry_attempts,
        base_seconds=settings.consumer_retry_base_seconds,
        max_seconds=settings.consumer_retry_max_seconds,
        outage_max_seconds=settings.consumer_outage_max_seconds,
        permanent=(PermanentError, UndecodableMessage),
        outages=OUTAGES,
    )
