"""Payment and refund state machines and refund arithmetic. Pure: no Kafka, no SQL, no HTTP."""

from processors.domain.state import (
    ALLOWED,
    FINAL,
    REFUND_ALLOWED,
    PaymentStatus,
    RefundStatus,
    check_payment_transition,
    check_refund_transition,
    refund_available,
    require_refundable,
)

__all__ = [
    "ALLOWED",
    "FINAL",
    "REFUND_ALLOWED",
    "PaymentStatus",
    "RefundStatus",
    "check_payment_transition",
    "check_refund_transition",
    "refund_available",
    "require_refundable",
]
