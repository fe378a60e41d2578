"""The workload as data: who pays, with which card, and how they refund — from a seed.

Pure and deterministic: the same seed and sizes give the same plan, so a failing run can
be replayed exactly. Amounts are left to the plan's price at run time (a fraction).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


class RefundKind(StrEnum):
    NONE = "none"
    FULL = "full"  # body {}: what is left
    PARTIAL = "partial"  # one part of the price
    PARTIAL_TWICE = "partial_twice"  # two parts, two keys, together under the price
    FULL_TWICE = "full_twice"  # a full refund, then another full one that must be refused


@dataclass(frozen=True)
class RefundStep:
    key: str
    fraction: float | None  # None = the default amount (everything left)


@dataclass(frozen=True)
class UserPlan:
    user_id: uuid.UUID
    payment_key: str
    card: str
    refund_kind: RefundKind
    refunds: tuple[RefundStep, ...] = field(default=())
    resend_after_success: bool = False  # a client that lost the answer and asks again
    start_at: float = 0.0  # seconds after the run starts
    renews: bool = False  # pays with auto_renew on the run's short plan: renewals under chaos


@dataclass(frozen=True)
class Mix:
    declined: float = 0.12
    refund: float = 0.4
    resend: float = 0.15
    renew: float = 0.2  # of the users who pay and do not refund


def make_plan(
    seed: int, payments: int, duration: float, mix: Mix = Mix(), run_id: uuid.UUID | None = None
) -> list[UserPlan]:
    """`payments` users, each paying once, starting evenly spread over `duration` seconds.

    The seed fixes every choice; `run_id` only renames the users, so a second run with the
    same seed on the same stack meets none of the first run's users (and their state).
    """
    rng = random.Random(seed)
    spread = max(duration, 0.0) * 0.8
    return [_user(rng, i, payments, spread, mix, run_id) for i in range(payments)]


def _user(
    rng: random.Random, i: int, total: int, spread: float, mix: Mix, run_id: uuid.UUID | None
) -> UserPlan:
    user_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    if run_id is not None:
        user_id = uuid.uuid5(run_id, str(user_id))
    card = DECLINED_CARD if rng.random() < mix.declined else GOOD_CARD
    kind = _refund_kind(rng, mix) if card == GOOD_CARD else RefundKind.NONE
    return UserPlan(
        user_id=user_id,
        payment_key=f"chaos-pay-{_token(rng)}",
        card=card,
        refund_kind=kind,
        refunds=_refund_steps(rng, kind),
        resend_after_success=rng.random() < mix.resend,
        start_at=spread * i / max(total, 1),
        renews=kind is RefundKind.NONE and card == GOOD_CARD and rng.random() < mix.renew,
    )


def _refund_kind(rng: random.Random, mix: Mix) -> RefundKind:
    if rng.random() >= mix.refund:
        return RefundKind.NONE
    kinds = [RefundKind.FULL, RefundKind.PARTIAL, RefundKind.PARTIAL_TWICE, RefundKind.FULL_TWICE]
    return rng.choice(kinds)


def _refund_steps(rng: random.Random, kind: RefundKind) -> tuple[RefundStep, ...]:
    def step(fraction: float | None) -> RefundStep:
        return RefundStep(key=f"chaos-refund-{_token(rng)}", fraction=fraction)

    match kind:
        case RefundKind.FULL:
            return (step(None),)
        case RefundKind.PARTIAL:
            return (step(rng.choice([0.1, 0.25, 0.5])),)
        case RefundKind.PARTIAL_TWICE:
            return (step(0.3), step(rng.choice([0.3, 0.7])))
        case RefundKind.FULL_TWICE:
            return (step(None), step(None))
    return ()


def _token(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def refund_count(plan: list[UserPlan]) -> int:
    return sum(len(u.refunds) for u in plan)
