"""Errors of the consumers, by what the delivery loop does with them.

    ConsumerError
    ├── TransientError      retried with backoff, dead-lettered once attempts run out
    │   └── StateChanged    the truth moved while we acted on it; run the handler again
    └── PermanentError      dead-lettered at once (4xx but 429, undecodable input)
    DeadLetterNotFound      `dlq.reinject` was given an id that is not in dead_letters

Outages of PostgreSQL or Kafka are not ConsumerErrors: the loop waits them out without
counting attempts (see `delivery.OUTAGES`), because nothing is wrong with the message.
"""


class ConsumerError(Exception):
    """Base of what a handler raises on purpose."""


class TransientError(ConsumerError):
    """Might succeed if tried again: connection errors, timeouts, 5xx, 429."""


class StateChanged(TransientError):
    """The desired state computed before the outside call no longer holds at commit time."""


class PermanentError(ConsumerError):
    """Will fail the same way every time: a 4xx (other than 429), a message we cannot read."""


class DeadLetterNotFound(LookupError):
    """No dead letter with that id."""
