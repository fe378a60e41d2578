"""The order of answers to `POST /api/v1/payments`: 401 → 429 → 400 → 422, with the token
taken by the payment's own statement (gateway.deps.Meter): a request refused as bad input
still takes its token first, and gets 429 instead when the bucket is empty."""

import uuid
from typing import Any

import httpx
from gateway_it_support import Client, GatewayFactory, bearer

from schemas import ids

GOOD = {"plan_id": "monthly", "return_url": "https://cinema.test/back"}
EVIL = "https://evil.test/"
BAD_INPUT: list[tuple[dict[str, str], Any, str]] = [
    ({}, GOOD, "idempotency_key_required"),
    ({"Idempotency-Key": "x" * 256}, GOOD, "idempotency_key_invalid"),
    ({"Idempotency-Key": "k"}, {"plan_id": "monthly"}, "validation_error"),
    (
        {"Idempotency-Key": "k"},
        GOOD | {"return_url": "https://evil.test/"},
        "return_url_not_allowed",
    ),
]


async def post(http: Client, user: uuid.UUID, extra: dict[str, str], body: Any) -> httpx.Response:
    return await http.post("/api/v1/payments", headers=bearer(user) | extra, json=body)


async def test_bad_input_from_a_user_over_the_rate_gets_429(make_gateway: GatewayFactory) -> None:
    http = await make_gateway(gateway_rate_limit_per_minute=1)
    user = uuid.uuid4()
    assert (await post(http, user, {"Idempotency-Key": "first"}, GOOD)).status_code == 202

    answers = [await post(http, user, extra, body) for extra, body, _ in BAD_INPUT]
    replay = await post(http, user, {"Idempotency-Key": "first"}, GOOD)

    assert [a.status_code for a in answers] == [429] * len(BAD_INPUT), [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "rate_limited" for a in answers)
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers)
    assert replay.status_code == 429, replay.text


async def test_bad_input_is_answered_as_such_and_takes_its_token(
    make_gateway: GatewayFactory,
) -> None:
    http = await make_gateway(gateway_rate_limit_per_minute=1)
    for extra, body, code in BAD_INPUT:
        user = uuid.uuid4()
        refused = await post(http, user, extra, body)
        then = await post(http, user, {"Idempotency-Key": f"then-{uuid.uuid4()}"}, GOOD)

        assert (refused.status_code, refused.json()["error"]["code"]) == (
            400 if code.startswith("idempotency") else 422,
            code,
        ), refused.text
        assert then.status_code == 429, f"{code}: the refused request took no token"


async def test_a_payment_refused_by_the_rate_limit_leaves_no_row(
    make_gateway: GatewayFactory, db: Any
) -> None:
    http = await make_gateway(gateway_rate_limit_per_minute=1)
    user = uuid.uuid4()
    assert (await post(http, user, {"Idempotency-Key": "a"}, GOOD)).status_code == 202
    limited = await post(http, user, {"Idempotency-Key": "b"}, GOOD)

    assert limited.status_code == 429, limited.text
    rows = await db.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE id = $1", ids.payment_id(user, "b")
    )
    assert rows == 0


NOT_JSON = b'{"plan_id": '  # FastAPI parses a JSON body before it solves the dependencies


async def post_raw(http: Client, headers: dict[str, str]) -> httpx.Response:
    headers = headers | {"Content-Type": "application/json"}
    return await http.post("/api/v1/payments", headers=headers, content=NOT_JSON)


async def test_a_body_that_is_not_json_keeps_the_order_of_answers(
    make_gateway: GatewayFactory,
) -> None:
    """No token: 401; no Idempotency-Key: 400; over the rate: 429; else 422 — and it takes
    its token like any other POST."""
    http = await make_gateway(gateway_rate_limit_per_minute=1)
    anonymous = await post_raw(http, {"Idempotency-Key": "k"})
    keyless = await post_raw(http, bearer(uuid.uuid4()))
    user = uuid.uuid4()
    refused = await post_raw(http, bearer(user) | {"Idempotency-Key": "k"})
    then = await post_raw(http, bearer(user) | {"Idempotency-Key": "k"})

    assert anonymous.status_code == 401, anonymous.text
    assert (keyless.status_code, keyless.json()["error"]["code"]) == (
        400,
        "idempotency_key_required",
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert then.status_code == 429, "the request that was not JSON took no token"


async def test_a_refund_body_that_is_not_json_needs_a_token_first(
    make_gateway: GatewayFactory,
) -> None:
    http = await make_gateway()
    response = await http.post(
        f"/api/v1/payments/{uuid.uuid4()}/refunds",
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
        content=NOT_JSON,
    )
    assert response.status_code == 401, response.text


NOT_UTF8 = b'{"plan_id": "\xff"}'  # FastAPI refuses it with its own 400, before any dependency


async def test_a_body_that_is_not_utf8_keeps_the_order_of_answers(
    make_gateway: GatewayFactory,
) -> None:
    """Bytes that are not UTF-8 are refused like a body that is not JSON: 401 without a
    token, 400 without a key, else 422 — and the refused request takes its token."""
    http = await make_gateway(gateway_rate_limit_per_minute=1)
    headers = {"Content-Type": "application/json"}

    async def send(extra: dict[str, str]) -> httpx.Response:
        return await http.post("/api/v1/payments", headers=headers | extra, content=NOT_UTF8)

    anonymous = await send({"Idempotency-Key": "k"})
    keyless = await send(bearer(uuid.uuid4()))
    user = uuid.uuid4()
    refused = await send(bearer(user) | {"Idempotency-Key": "k"})
    then = await send(bearer(user) | {"Idempotency-Key": "k"})

    assert anonymous.status_code == 401, anonymous.text
    assert keyless.json()["error"]["code"] == "idempotency_key_required", keyless.text
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert "UTF-8" in refused.json()["error"]["message"], refused.text
    assert then.status_code == 429, "the request that was not UTF-8 took no token"
