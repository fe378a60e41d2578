from typing import Any

from fastapi import APIRouter

from gateway import subscriptions
from gateway.auth import CurrentUser
from gateway.deps import IdempotencyKey, PostingUser, Svc
from gateway.models import ErrorOut, SubscriptionOut

router = APIRouter(prefix="/api/v1", tags=["subscription"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 409, 429, 503)
}


@router.get("/subscription", response_model=SubscriptionOut)
async def get_subscription(svc: Svc, user_id: CurrentUser) -> SubscriptionOut:
    """The caller's subscription (CONTRACT §2a); `status: none` before the first payment."""
    async with svc.db.connection() as conn:
        return SubscriptionOut(**await subscriptions.view(conn, user_id))


@router.post("/subscription/cancel", response_model=SubscriptionOut, responses=ERRORS)
async def cancel_subscription(
    svc: Svc, user_id: PostingUser, key: IdempotencyKey
) -> SubscriptionOut:
    """No more renewals; access until `current_period_end`."""
    return SubscriptionOut(**await subscriptions.change(svc, user_id, "cancel", key))


@router.post("/subscription/resume", response_model=SubscriptionOut, responses=ERRORS)
async def resume_subscription(
    svc: Svc, user_id: PostingUser, key: IdempotencyKey
) -> SubscriptionOut:
    """Undo a cancel before the period ends."""
    return SubscriptionOut(**await subscriptions.change(svc, user_id, "resume", key))


@router.delete("/subscription/payment-method", response_model=SubscriptionOut, responses=ERRORS)
async def forget_payment_method(svc: Svc, user_id: PostingUser) -> SubscriptionOut:
    """Forget the saved card: no renewals; access until the period ends."""
    return SubscriptionOut(**await subscriptions.change(svc, user_id, "forget_card", "delete"))
