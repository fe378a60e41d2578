"""Deterministic identifiers.

Every command, event and side effect is keyed by an id that is a pure function of what it
is about, so a retry, a redelivery or a replay produces the same id and every idempotent
sink (the provider's Idempotence-Key, a unique constraint, a notification dedup_key)
recognises it.
"""

import uuid

_ROOT = uuid.UUID("6f1c6c1e-3f0a-4d55-9a57-0b1f1e7c2a10")
NS_PAYMENT = uuid.uuid5(_ROOT, "payment")
NS_REFUND = uuid.uuid5(_ROOT, "refund")
NS_MESSAGE = uuid.uuid5(_ROOT, "message")
NS_SUBSCRIPTION = uuid.uuid5(_ROOT, "subscription")
NS_RENEWAL = uuid.uuid5(_ROOT, "renewal")

SYSTEM_YOOKASSA = uuid.uuid5(_ROOT, "payment-system:yookassa")


def payment_id(user_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The payment a (user, Idempotency-Key) pair names, whichever gateway instance asks."""
    return uuid.uuid5(NS_PAYMENT, f"{user_id}:{idempotency_key}")


def refund_id(user_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(NS_REFUND, f"{user_id}:{idempotency_key}")


def message_id(type_: str, subject_id: uuid.UUID | str, *qualifiers: str) -> uuid.UUID:
    """Id of the one message of `type_` about `subject_id` (a payment, refund or event).

    `qualifiers` separate messages that may legitimately repeat for a subject, e.g. a
    provider notification's event name and status.
    """
    return uuid.uuid5(NS_MESSAGE, ":".join([type_, str(subject_id), *qualifiers]))


def provider_idempotence_key(operation: str, our_id: uuid.UUID) -> str:
    """The provider's Idempotence-Key for creating `our_id`: same id, same key, forever."""
    return f"billing-{operation}-{our_id}"


def subscription_id(user_id: uuid.UUID) -> uuid.UUID:
    """A user has one subscription record; its id is a function of the user."""
    return uuid.uuid5(NS_SUBSCRIPTION, str(user_id))


def renewal_payment_id(subscription: uuid.UUID, period: int, attempt: int) -> uuid.UUID:
    """The payment that tries, for the `attempt`-th time, to pay `period` of `subscription`.

    Its provider Idempotence-Key follows from it, so every redelivery, replay or re-drive
    of one attempt names one provider charge; a later attempt is a new charge only after
    the previous one was declined, and none once the period is paid.
    """
    return uuid.uuid5(NS_RENEWAL, f"{subscription}:{period}:{attempt}")


def renewal_idempotency_key(period: int, attempt: int) -> str:
    """The payments row's (user, idempotency_key) of a renewal: no user key can look so."""
    return f"renewal:{period}:{attempt}"
