"""An existing renewal attempt is re-sent exactly as it was first sent, whatever the settings
say now: a row inserted without a receipt (before the receipts deploy, or with
PROVIDER_RECEIPTS=off) may already have charged the card, so failing it would let dunning
charge again under a new key. Only T1 (`_prepare`, against PostgreSQL in the integration
tests) decides about a missing email, before the row exists; here it returns the row."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fakes import FakeDeps
from world import origin

from domain.payments import PaymentStatus
from processors import handlers
from processors.errors import ProviderUnavailable
from processors.provider.yookassa import Autopayment
from processors.repository import PaymentRow
from processors.subscriptions import renewals
from schemas import ids
from schemas.ids import provider_idempotence_key
from schemas.messages import RenewSubscription

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


class FakePool:
    """Only what `renew` asks the pool besides T1: the database's clock, the inbox check."""

    async def fetchval(self, sql: str, *args: object) -> Any:
        return NOW if "now()" in sql else None


@dataclass
class RenewDeps(FakeDeps):
    pool: FakePool = field(default_factory=FakePool)


def accepted_attempt(deps: RenewDeps, receipt: dict[str, Any] | None) -> RenewSubscription:
    user_id = uuid.uuid4()
    sub_id = ids.subscription_id(user_id)
    cmd = RenewSubscription.model_validate(
        {"subscription_id": sub_id, "user_id": user_id, "period_number": 2, "attempt": 0}
    )
    payment_id = ids.renewal_payment_id(sub_id, 2, 0)
    deps.store.rows.payments[payment_id] = PaymentRow(
        id=payment_id,
        user_id=user_id,
        plan_id="monthly",
        amount=Decimal("499.00"),
        currency="RUB",
        status=PaymentStatus.ACCEPTED,
        external_id=None,
        return_url="",
        confirmation_url=None,
        refunded_amount=Decimal("0.00"),
        refunded=False,
        failure_reason=None,
        auto_renew=True,
        receipt=receipt,
    )
    return cmd


def existing_row(deps: RenewDeps, monkeypatch: pytest.MonkeyPatch) -> None:
    """T1 finds the attempt's row already there (a redelivered command)."""

    async def prepare(cmd: RenewSubscription, *_: object) -> tuple[PaymentRow, datetime, str]:
        row = deps.store.rows.payments[ids.renewal_payment_id(cmd.subscription_id, 2, 0)]
        return row, NOW, "pm-saved"

    monkeypatch.setattr(renewals, "_prepare", prepare)


def first_sent(cmd: RenewSubscription, receipt: dict[str, Any] | None) -> Autopayment:
    """The body `renewals` sends for this attempt (the provider refuses another one)."""
    return Autopayment(
        user_id=cmd.user_id,
        subscription_id=cmd.subscription_id,
        period=2,
        amount=Decimal("499.00"),
        currency="RUB",
        payment_method_id="pm-saved",
        description="Subscription monthly, period 2",
        receipt=receipt,
    )


async def renew(deps: RenewDeps, cmd: RenewSubscription) -> None:
    await renewals.renew(cmd, origin(handlers.CONSUMER, cmd), deps)  # type: ignore[arg-type]


async def test_an_attempt_stored_without_a_receipt_is_resent_without_one_not_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deps = RenewDeps()
    assert deps.settings.provider_receipts  # receipts are on now
    cmd = accepted_attempt(deps, receipt=None)
    existing_row(deps, monkeypatch)
    payment_id = ids.renewal_payment_id(cmd.subscription_id, 2, 0)
    key = provider_idempotence_key("payment", payment_id)
    deps.provider.faults.append("timeout_after_commit")  # charged, the answer lost
    with pytest.raises(ProviderUnavailable):  # sent before the receipts deploy
        await deps.provider.create_autopayment(payment_id, first_sent(cmd, receipt=None))
    await renew(deps, cmd)  # redelivered after a restart on the new code, receipts on
    assert deps.provider.calls == ["create_autopayment", "create_autopayment"]
    assert key in deps.provider.receipts and deps.provider.receipts[key] is None
    assert len(deps.provider.created(payment_id)) == 1
    assert deps.store.rows.payments[payment_id].status is PaymentStatus.SUCCEEDED


async def test_an_attempt_stored_with_a_receipt_is_resent_with_it_when_receipts_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deps = RenewDeps()
    receipt = {"customer": {"email": "viewer@cinema.test"}, "items": []}
    cmd = accepted_attempt(deps, receipt=receipt)
    existing_row(deps, monkeypatch)
    deps.settings = deps.settings.model_copy(update={"provider_receipts": False})
    await renew(deps, cmd)
    key = provider_idempotence_key("payment", ids.renewal_payment_id(cmd.subscription_id, 2, 0))
    assert deps.provider.receipts[key] == receipt
