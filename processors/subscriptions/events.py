"""Events about a subscription, each with its deterministic message_id."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from processors.subscriptions.repository import SubscriptionRow
from schemas import ids
from schemas.messages import (
    RenewalUpcoming,
    SubscriptionCanceled,
    SubscriptionChanged,
    SubscriptionExpired,
    SubscriptionPastDue,
    SubscriptionRenewed,
    SubscriptionResumed,
)


def _common(row: SubscriptionRow) -> dict[str, object]:
    return {"subscription_id": row.id, "user_id": row.user_id, "plan_id": row.plan_id}


def renewed(
    row: SubscriptionRow, payment_id: UUID, amount: Decimal, currency: str
) -> SubscriptionRenewed:
    return SubscriptionRenewed(
        message_id=ids.message_id("SubscriptionRenewed", row.id, str(row.periods)),
        payment_id=payment_id,
        period_number=row.periods,
        period_start=row.state.period_start,
        period_end=row.state.period_end,
        amount=amount,
        currency=currency,
        **_common(row),  # type: ignore[arg-type]
    )


def past_due(row: SubscriptionRow, declined_payment: UUID) -> SubscriptionPastDue:
    s = row.state
    return SubscriptionPastDue(
        message_id=ids.message_id("SubscriptionPastDue", declined_payment),
        attempt=s.dunning_attempt,
        reason=s.last_error or "declined",
        next_retry_at=s.next_retry_at,
        access_until=s.access_until,
        **_common(row),  # type: ignore[arg-type]
    )


def expired(row: SubscriptionRow, reason: str, at: datetime) -> SubscriptionExpired:
    return SubscriptionExpired(
        message_id=ids.message_id("SubscriptionExpired", row.id, row.state.period_end.isoformat()),
        reason=reason,
        ended_at=at,
        **_common(row),  # type: ignore[arg-type]
    )


def canceled(
    row: SubscriptionRow, *, at_period_end: bool, reason: str, cause: str
) -> SubscriptionCanceled:
    """`cause` names what canceled it (a request id, a refund id, a period end): one event each."""
    return SubscriptionCanceled(
        message_id=ids.message_id("SubscriptionCanceled", row.id, cause),
        at_period_end=at_period_end,
        access_until=row.state.access_until,
        reason=reason,
        **_common(row),  # type: ignore[arg-type]
    )


def resumed(row: SubscriptionRow, cause: str) -> SubscriptionResumed:
    return SubscriptionResumed(
        message_id=ids.message_id("SubscriptionResumed", row.id, cause),
        access_until=row.state.access_until,
        **_common(row),  # type: ignore[arg-type]
    )


def changed(row: SubscriptionRow, change: str, cause: str) -> SubscriptionChanged:
    return SubscriptionChanged(
        message_id=ids.message_id("SubscriptionChanged", row.id, change, cause),
        change=change,
        active=row.state.active,
        access_until=row.state.access_until,
        **_common(row),  # type: ignore[arg-type]
    )


def upcoming(
    row: SubscriptionRow, period: int, charge_at: datetime, amount: Decimal, currency: str
) -> RenewalUpcoming:
    return RenewalUpcoming(
        message_id=ids.message_id("RenewalUpcoming", row.id, str(period)),
        period_number=period,
        charge_at=charge_at,
        amount=amount,
        currency=currency,
        **_common(row),  # type: ignore[arg-type]
    )
