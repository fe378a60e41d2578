"""An autopayment whose outcome is unknown past YooKassa's 24 h key memory is looked up first."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from domain.payments import PaymentStatus
from processors.provider.objects import ProviderPayment
from processors.provider.yookassa import payment_of
from processors.repository import PaymentRow
from processors.runtime import Context
from processors.settings import ProcessorSettings
from processors.subscriptions import renewals
from schemas.messages import RenewSubscription

NOW = datetime(2026, 1, 2, 12, tzinfo=UTC)


@dataclass
class FakeProvider:
    pages: list[dict[str, Any]]
    sent: list[uuid.UUID] = field(default_factory=list)
    listed: list[str | None] = field(default_factory=list)

    async def list_payments(
        self, gte: datetime, lt: datetime, cursor: str | None = None
    ) -> tuple[list[ProviderPayment], str | None]:
        self.listed.append(cursor)
        page = self.pages[len(self.listed) - 1]
        return [payment_of(i) for i in page["items"]], page["next_cursor"]

    async def create_autopayment(self, payment_id: uuid.UUID, charge: object) -> ProviderPayment:
        self.sent.append(payment_id)
        return payment_of({"id": str(uuid.uuid4()), "status": "succeeded", "metadata": {}})


class FakePool:
    async def fetchval(self, sql: str, *args: object) -> datetime:
        return NOW


def context(provider: FakeProvider, lookup_after_s: float = 86400) -> Context:
    settings = ProcessorSettings(renewal_lookup_after_s=lookup_after_s)
    return Context(settings, cast(Any, FakePool()), cast(Any, provider))


def attempt() -> tuple[RenewSubscription, PaymentRow]:
    cmd = RenewSubscription.model_validate(
        {"subscription_id": uuid.uuid4(), "user_id": uuid.uuid4(), "period_number": 2, "attempt": 0}
    )
    row = PaymentRow(
        uuid.uuid4(),
        cmd.user_id,
        "monthly",
        Decimal("499.00"),
        "RUB",
        PaymentStatus.ACCEPTED,
        None,
        "",
        None,
        Decimal("0"),
        False,
        None,
        True,
    )
    return cmd, row


def item(payment_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "status": "succeeded",
        "metadata": {"payment_id": str(payment_id)},
    }


async def test_a_fresh_attempt_is_sent_under_its_key_without_listing() -> None:
    provider = FakeProvider(pages=[])
    cmd, row = attempt()
    await renewals._charge_once(context(provider), cmd, row, NOW - timedelta(hours=23), "pm")
    assert provider.sent == [row.id] and provider.listed == []


async def test_past_the_key_window_a_charge_found_by_listing_is_never_sent_again() -> None:
    cmd, row = attempt()
    provider = FakeProvider(
        pages=[
            {"items": [item(uuid.uuid4())], "next_cursor": "page-2"},
            {"items": [item(row.id)], "next_cursor": None},
        ]
    )
    found = await renewals._charge_once(
        context(provider), cmd, row, NOW - timedelta(hours=25), "pm"
    )
    assert found.our_payment_id == row.id
    assert provider.sent == [] and provider.listed == [None, "page-2"]


async def test_past_the_key_window_nothing_found_means_it_is_sent_once() -> None:
    cmd, row = attempt()
    provider = FakeProvider(pages=[{"items": [], "next_cursor": None}])
    await renewals._charge_once(context(provider), cmd, row, NOW - timedelta(days=3), "pm")
    assert provider.sent == [row.id] and provider.listed == [None]
