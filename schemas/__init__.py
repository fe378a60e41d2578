"""The wire: commands, events, topic names, ids and the one codec. No I/O here."""

from schemas.codec import decode, encode
from schemas.messages import (
    Command,
    CreatePayment,
    DeadLetter,
    Event,
    Message,
    PaymentCanceled,
    PaymentFailed,
    PaymentPending,
    PaymentSucceeded,
    ProviderNotification,
    RefundFailed,
    RefundPayment,
    RefundSucceeded,
    SubscriptionActivated,
    SubscriptionRevoked,
)
from schemas.topics import COMMANDS, DLQ, EVENTS, TOPICS, WEBHOOKS

__all__ = [
    "COMMANDS",
    "DLQ",
    "EVENTS",
    "TOPICS",
    "WEBHOOKS",
    "Command",
    "CreatePayment",
    "DeadLetter",
    "Event",
    "Message",
    "PaymentCanceled",
    "PaymentFailed",
    "PaymentPending",
    "PaymentSucceeded",
    "ProviderNotification",
    "RefundFailed",
    "RefundPayment",
    "RefundSucceeded",
    "SubscriptionActivated",
    "SubscriptionRevoked",
    "decode",
    "encode",
]
