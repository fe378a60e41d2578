"""Commands are built in one place and carry the message_id `schemas` derives."""

import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain import commands
from schemas import ids
from schemas.messages import CreatePayment


def test_create_payment_carries_the_deterministic_id_and_the_plan_description() -> None:
    payment_id, user_id = uuid.uuid4(), uuid.uuid4()
    cmd = commands.create_payment(
        payment_id=payment_id,
        user_id=user_id,
        plan_id="monthly",
        amount=Decimal("499.00"),
        currency="RUB",
        return_url="https://cinema.example/back",
    )
    assert cmd.message_id == ids.message_id("CreatePayment", payment_id)
    assert cmd.description == "Subscription monthly"


def test_refund_payment_carries_the_deterministic_id() -> None:
    refund_id = uuid.uuid4()
    cmd = commands.refund_payment(
        refund_id=refund_id,
        payment_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        amount=Decimal("1.00"),
        currency="RUB",
        requested_by="admin:finance",
    )
    assert cmd.message_id == ids.message_id("RefundPayment", refund_id)
    assert cmd.requested_by == "admin:finance"


def test_a_hand_spelled_other_id_is_refused() -> None:
    with pytest.raises(ValidationError):
        CreatePayment(
            message_id=uuid.uuid4(),
            payment_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            plan_id="monthly",
            amount=Decimal("1.00"),
            currency="RUB",
            return_url="u",
        )
