import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.amounts import parse_refund_body
from gateway.auth import CurrentUser
from gateway.deps import IdempotencyKey, PostingUser, Svc
from gateway.errors import NotFound
from gateway.models import REFUND_BODY_SCHEMA, REPLAYED_HEADER, ErrorOut, RefundOut
from gateway.refunds import accept_refund
from gateway.repository import Record, user_refund

router = APIRouter(prefix="/api/v1", tags=["refunds"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 422, 429, 503)
}
BODY_DOC = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": REFUND_BODY_SCHEMA}},
    }
}


def refund_out(row: Record) -> RefundOut:
    return RefundOut(**dict(row))


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=202,
    response_model=RefundOut,
    responses=ERRORS,
    openapi_extra=BODY_DOC,
    summary="Refund a payment as the refund policy allows; it ends the time it bought",
)
async def create_refund(
    payment_id: uuid.UUID,
    request: Request,
    response: Response,
    svc: Svc,
    user_id: PostingUser,
    key: IdempotencyKey,
) -> RefundOut:
    """The amount is the refund policy's (CONTRACT §2); a body with `amount` is a 422."""
    parse_refund_body(await request.body())
    row, replayed = await accept_refund(svc, user_id, key, payment_id)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return refund_out(row)


@router.get(
    "/refunds/{refund_id}",
    response_model=RefundOut,
    responses={code: {"model": ErrorOut} for code in (401, 404, 422, 503)},
)
async def get_refund(refund_id: uuid.UUID, svc: Svc, user_id: CurrentUser) -> RefundOut:
    async with svc.db.connection() as conn:
        row = await user_refund(conn, user_id, refund_id)
    if row is None:
        raise NotFound("no such refund")
    return refund_out(row)
