from fastapi import APIRouter

from gateway.auth import CurrentUser
from gateway.deps import Svc
from gateway.models import SubscriptionOut
from gateway.repository import subscriber

router = APIRouter(prefix="/api/v1", tags=["subscription"])


@router.get("/subscription", response_model=SubscriptionOut)
async def get_subscription(svc: Svc, user_id: CurrentUser) -> SubscriptionOut:
    """Active = granted and not past `expires_at`; no row yet = not active."""
    async with svc.db.connection() as conn:
        row = await subscriber(conn, user_id)
    if row is None:
        return SubscriptionOut(user_id=user_id, active=False, plan_id=None, expires_at=None)
    return SubscriptionOut(**dict(row))
