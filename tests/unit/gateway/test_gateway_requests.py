"""What the gateway refuses before touching PostgreSQL or Kafka (the app has no lifespan)."""

import httpx
import pytest
from gateway_unit_support import TokenFactory


def auth(make_token: TokenFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token()}"}


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_required"),
        ("", "idempotency_key_required"),
        ("k" * 256, "idempotency_key_invalid"),
        ("bad\tkey", "idempotency_key_invalid"),
    ],
)
async def test_payment_without_a_usable_idempotency_key_gets_400(
    key: str | None, code: str, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = auth(make_token) | ({} if key is None else {"Idempotency-Key": key})
    body = {"plan_id": "monthly", "return_url": "https://cinema.test/back"}
    response = await client.post("/api/v1/payments", headers=headers, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


async def test_refund_without_idempotency_key_gets_400(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    response = await client.post(
        "/api/v1/payments/6f1c6c1e-3f0a-4d55-9a57-0b1f1e7c2a10/refunds",
        headers=auth(make_token),
        json={},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


@pytest.mark.parametrize(
    "body",
    [
        {"plan_id": "monthly"},
        {"plan_id": "monthly", "return_url": "https://x.test", "amount": "1.00"},
        {"plan_id": "monthly", "return_url": "ftp://x.test/back"},
        {"plan_id": "monthly", "return_url": "not a url"},
        {"plan_id": "monthly", "return_url": "https://x.test/" + "a" * 2048},
        {"plan_id": "", "return_url": "https://x.test"},
        {"plan_id": 5, "return_url": "https://x.test"},
        [],
    ],
)
async def test_malformed_payment_body_gets_422_in_the_error_shape(
    body: object, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = auth(make_token) | {"Idempotency-Key": "k1"}
    response = await client.post("/api/v1/payments", headers=headers, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_invalid_json_gets_422_not_500(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = auth(make_token) | {"Idempotency-Key": "k1", "Content-Type": "application/json"}
    response = await client.post("/api/v1/payments", headers=headers, content=b'{"plan_id": ')
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_declared_oversized_body_gets_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/webhooks/yookassa", content=b"x" * 5000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_streamed_oversized_body_gets_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"y" * 500

    response = await client.post("/api/v1/webhooks/yookassa", content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


# FastAPI turns a body it cannot read into its own 400 ("There was an error parsing the
# body"), whatever stopped the read: the answer to the size limit's error must stay a 413.
@pytest.mark.parametrize("kind", ["application/json", "application/json; charset=utf-8"])
async def test_a_streamed_payment_body_over_the_limit_gets_413(
    kind: str, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"y" * 500

    headers = auth(make_token) | {"Idempotency-Key": "k1", "Content-Type": kind}
    response = await client.post("/api/v1/payments", headers=headers, content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_unknown_route_gets_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_liveness_and_openapi_answer_without_dependencies(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/payments/{payment_id}/refunds" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_a_post_the_rate_limiter_cannot_meter_gets_503_not_a_pass(
    closed_client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    """PostgreSQL unreachable: the limiter fails closed, before the body is even looked at."""
    headers = auth(make_token) | {"Idempotency-Key": "k-1"}
    body = {"plan_id": "monthly", "return_url": "https://cinema.test/back"}
    response = await closed_client.post("/api/v1/payments", headers=headers, json=body)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"]
