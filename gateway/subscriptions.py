"""The user's subscription (CONTRACT §2a): the view, and cancel / resume / forget the card.

The view is read from the subscription record the processors keep. A change is applied
here, synchronously, by the one rule path the processors use for an operator's change
(`processors.subscriptions.handlers.change`): under the user's lock, in one transaction
that saves the record, plans the scheduler's next work and queues the event. The
Idempotency-Key names the event, so a replayed request announces nothing twice.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domain.subscriptions import InvalidSubscriptionChange, SubscriptionStatus
from gateway.deps import Services
from gateway.errors import NoSubscription, SubscriptionChangeRefused
from processors.subscriptions import handlers as rules
from processors.subscriptions import repository as repo
from processors.subscriptions.repository import SubscriptionRow
from schemas.messages import ChangeSubscription
from schemas.topics import EVENTS

NONE: dict[str, Any] = {
    "status": "none",
    "active": False,
    "plan_id": None,
    "current_period_start": None,
    "current_period_end": None,
    "expires_at": None,
    "auto_renew": False,
    "cancel_at_period_end": False,
    "payment_method": None,
    "next_charge_at": None,
    "next_charge_amount": None,
    "dunning": None,
}


async def view(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, Any]:
    sub = await repo.load(conn, user_id)
    if sub is None:
        return {"user_id": user_id, **NONE}
    s = sub.state
    plan = await repo.load_plan(conn, sub.plan_id)
    charge_at = _next_charge(sub, plan.terms.renew_before if plan else timedelta(0))
    return {
        "user_id": user_id,
        "status": str(s.status),
        "active": s.active,
        "plan_id": sub.plan_id,
        "current_period_start": await _running_start(conn, sub),
        "current_period_end": s.period_end,
        "expires_at": s.period_end,
        "auto_renew": s.auto_renew and s.has_card,
        "cancel_at_period_end": s.cancel_at_period_end,
        "payment_method": _card(sub),
        "next_charge_at": charge_at,
        "next_charge_amount": f"{plan.amount:.2f}" if plan and charge_at else None,
        "dunning": _dunning(sub),
    }


def _next_charge(sub: SubscriptionRow, renew_before: timedelta) -> datetime | None:
    s = sub.state
    if not s.renews:
        return None
    if s.status is SubscriptionStatus.PAST_DUE:
        return s.next_retry_at
    return s.period_end - renew_before


async def _running_start(conn: asyncpg.Connection, sub: SubscriptionRow) -> datetime:
    """The start of the period running now (a stacked period's start may be ahead)."""
    start: datetime | None = await conn.fetchval(
        """SELECT starts_at FROM payments_history.subscription_periods
           WHERE subscription_id = $1 AND starts_at <= now() AND ended_early_at IS NULL
           ORDER BY number DESC LIMIT 1""",
        sub.id,
    )
    return start or sub.state.period_start


def _card(sub: SubscriptionRow) -> dict[str, Any] | None:
    if sub.card is None:
        return None
    return {"type": "bank_card", "card_last4": sub.card.last4, "expiry": sub.card.expiry}


def _dunning(sub: SubscriptionRow) -> dict[str, Any] | None:
    s = sub.state
    if s.status is not SubscriptionStatus.PAST_DUE:
        return None
    return {
        "attempt": s.dunning_attempt,
        "next_retry_at": s.next_retry_at,
        "last_error": s.last_error,
    }


async def change(svc: Services, user_id: uuid.UUID, action: str, key: str) -> dict[str, Any]:
    """Cancel, resume or forget the card; 409 when there is no subscription to change."""
    async with svc.db.connection() as conn:
        async with conn.transaction():
            await repo.lock_user(conn, user_id)
            sub = await repo.load(conn, user_id)
            if sub is None or not sub.state.active:
                raise NoSubscription()
            cmd = ChangeSubscription.model_validate(
                {
                    "subscription_id": sub.id,
                    "user_id": user_id,
                    "action": action,
                    "request_id": f"{user_id}:{key}",
                    "requested_by": "api",
                }
            )
            try:
                await rules.change(conn, sub, cmd, EVENTS, strict=True)
            except InvalidSubscriptionChange as exc:
                raise SubscriptionChangeRefused(str(exc)) from exc
        return await view(conn, user_id)
