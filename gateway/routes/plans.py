from fastapi import APIRouter

from gateway.deps import Svc
from gateway.models import PlanOut
from gateway.repository import active_plans

router = APIRouter(prefix="/api/v1", tags=["plans"])


@router.get("/plans", response_model=list[PlanOut])
async def list_plans(svc: Svc) -> list[PlanOut]:
    async with svc.db.connection() as conn:
        rows = await active_plans(conn)
    return [PlanOut(**dict(row)) for row in rows]
