import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter, ValidationError

from gateway.auth import CurrentUser, current_user
from gateway.deps import (
    IdempotencyKey,
    MeteredUser,
    Svc,
    caller_meter,
    idempotency_key,
    metering,
    services_of,
)
from gateway.errors import GatewayError, InvalidCursor, NotFound
from gateway.models import REPLAYED_HEADER, CreatePaymentBody, ErrorOut, PaymentOut, PaymentPage
from gateway.payments import accept_payment, is_settled, requested_wait
from gateway.presolved import PresolvedRoute, body_of
from gateway.repository import Record, user_payment, user_payments

router = APIRouter(prefix="/api/v1", tags=["payments"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 422, 429, 503)
}
# Read from the request (`requested_wait`), documented here: a `Header` parameter would be
# looked up and validated by FastAPI on every POST (≈ 13 µs), for a value parsed anyway.
PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "wait=N, N <= 10 seconds (RFC 7240)",
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "wait=N, N <= 10 seconds (RFC 7240)",
        "title": "Prefer",
    },
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 422, 503)
}
PAYMENT_ID: TypeAdapter[uuid.UUID] = TypeAdapter(uuid.UUID)  # as FastAPI validates the path


def payment_out(row: Record) -> PaymentOut:
    return PaymentOut(**dict(row))


async def create_payment(
    body: CreatePaymentBody,
    request: Request,
    response: Response,
    meter: MeteredUser,
    key: IdempotencyKey,
) -> PaymentOut:
    svc = services_of(request)
    row, replayed = await accept_payment(svc, meter, key, body)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    response.headers["Location"] = f"/api/v1/payments/{row['payment_id']}"
    wait = requested_wait(request.headers.get("prefer"))
    if wait:
        row = await svc.waiters.wait(row, wait)
        if is_settled(row):
            response.status_code = 201
            response.headers["Preference-Applied"] = f"wait={wait}"
    return payment_out(row)


class CreatePaymentRoute(PresolvedRoute):
    async def presolve(self, request: Request, response: Response) -> dict[str, Any] | None:
        """`create_payment`'s arguments for a JSON body from a caller whose token and key
        pass: the checks its dependencies and FastAPI make, in the same calls; anything else
        (a refusal, another content type, a body that is not a valid `CreatePaymentBody`) is
        left to FastAPI (`gateway.presolved`)."""
        if request.headers.get("content-type") != "application/json":
            return None
        try:
            meter = caller_meter(request)  # the request's only once FastAPI is out of it
            key = await idempotency_key(request)
        except GatewayError:
            return None
        await body_of(request)  # its errors are FastAPI's, which reads the body first
        try:
            body = CreatePaymentBody.model_validate(await request.json(), from_attributes=True)
        except Exception:  # noqa: BLE001 - not JSON (or too deep: RecursionError), not UTF-8,
            return None  # not a valid body: FastAPI's handler says which, as it always did
        meter = metering(request, meter)
        return {"body": body, "request": request, "response": response, "meter": meter, "key": key}


router.add_api_route(
    "/payments",
    create_payment,
    methods=["POST"],
    route_class_override=CreatePaymentRoute,
    status_code=202,
    response_model=PaymentOut,
    responses={
        **ERRORS,
        202: {"description": "Accepted: the command is durably in Kafka; poll Location"},
        201: {
            "model": PaymentOut,
            "description": "With `Prefer: wait=N`: the payment has its confirmation_url "
            "or a final status (header `Preference-Applied: wait=N`)",
        },
    },
    summary="Pay for a plan (202 once the command is durably in Kafka)",
    openapi_extra={"parameters": [PREFER]},
)


async def get_payment(payment_id: uuid.UUID, request: Request, user_id: CurrentUser) -> PaymentOut:
    async with services_of(request).db.connection() as conn:
        row = await user_payment(conn, user_id, payment_id)
    if row is None:
        raise NotFound("no such payment")
    return payment_out(row)


class GetPaymentRoute(PresolvedRoute):
    async def presolve(self, request: Request, response: Response) -> dict[str, Any] | None:
        """`get_payment`'s arguments when the token passes and the id is a UUID (the status
        polls of every flow); a refusal is left to FastAPI (`gateway.presolved`)."""
        try:
            user_id = await current_user(request)
            payment_id = PAYMENT_ID.validate_python(request.path_params["payment_id"])
        except (GatewayError, ValidationError):
            return None
        return {"payment_id": payment_id, "request": request, "user_id": user_id}


router.add_api_route(
    "/payments/{payment_id}",
    get_payment,
    methods=["GET"],
    route_class_override=GetPaymentRoute,
    response_model=PaymentOut,
    responses=READ_ERRORS,
)


@router.get(
    "/payments",
    response_model=PaymentPage,
    responses={code: READ_ERRORS[code] for code in (401, 422, 503)},
)
async def list_payments(
    svc: Svc,
    user_id: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PaymentPage:
    before = decode_cursor(cursor) if cursor else None
    async with svc.db.connection() as conn:
        rows = await user_payments(conn, user_id, limit + 1, before)
    page = rows[:limit]
    more = len(rows) > limit
    return PaymentPage(
        items=[payment_out(row) for row in page],
        next=encode_cursor(page[-1]["created_at"], page[-1]["payment_id"])
        if more and page
        else None,
    )


def encode_cursor(created_at: datetime, payment_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{payment_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
