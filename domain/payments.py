"""A payment's statuses and the one table of the moves between them.

Every SQL update of a payment's status is guarded by `WHERE status = ANY(predecessors(to))`,
so whichever process (commands, webhooks, reconciler) gets there first wins and a status
only ever moves forward; `can_move` is the same table asked before the SQL.
"""

from enum import StrEnum


class PaymentStatus(StrEnum):
    ACCEPTED = "accepted"  # our row exists, the provider has not been asked (or not answered)
    PENDING = "pending"  # the provider has it, the card holder has not finished
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


_P = PaymentStatus
ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.ACCEPTED: frozenset({_P.PENDING, _P.SUCCEEDED, _P.CANCELED, _P.FAILED}),
    _P.PENDING: frozenset({_P.SUCCEEDED, _P.CANCELED, _P.FAILED}),
    _P.SUCCEEDED: frozenset(),
    _P.CANCELED: frozenset(),
    _P.FAILED: frozenset(),
}
FINAL: frozenset[PaymentStatus] = frozenset(s for s, nxt in ALLOWED.items() if not nxt)

# Where the reconciler looks: not yet at the provider (re-drive the command), and at the
# provider without a final answer (re-read it).
NOT_SENT = PaymentStatus.ACCEPTED
AWAITING_PROVIDER = PaymentStatus.PENDING


def can_move(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in ALLOWED[current]


def predecessors(target: PaymentStatus) -> list[str]:
    """Statuses from which `target` may be reached: the guard of every SQL update."""
    return sorted(str(s) for s, nxt in ALLOWED.items() if target in nxt)


def is_final(status: str) -> bool:
    return status in FINAL


def description(plan_id: str) -> str:
    """What the card holder sees at the provider for a payment of `plan_id`."""
    return f"Subscription {plan_id}"
