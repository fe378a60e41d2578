"""The hot routes answer the usual request from their own presolved path and any other from
FastAPI's handler (`gateway.presolved`): the same payment, the same bytes, either way."""

import json
import uuid

from fastapi import FastAPI
from gateway_it_support import Client, bearer

from gateway.deps import services

BODY = {"plan_id": "monthly", "return_url": "https://cinema.test/after-payment"}
Answer = tuple[int, list[tuple[str, str]], bytes]


async def test_fastapi_and_the_presolved_route_accept_a_payment_alike(
    client: Client, headers: dict[str, str]
) -> None:
    """`application/json` is presolved, a charset parameter is left to FastAPI."""
    key = f"key-{uuid.uuid4()}"
    content = json.dumps(BODY).encode()

    async def post(content_type: str) -> Answer:
        sent = headers | {"Idempotency-Key": key, "X-Request-ID": "alike"}
        sent |= {"Content-Type": content_type}
        response = await client.post("/api/v1/payments", headers=sent, content=content)
        return response.status_code, sorted(response.headers.multi_items()), response.content

    first = await post("application/json; charset=utf-8")
    presolved = await post("application/json")
    by_fastapi = await post("application/json; charset=utf-8")
    assert presolved == by_fastapi
    assert presolved[0] == first[0] == 202
    assert presolved[2] == first[2]
    assert presolved[1] == sorted([*first[1], ("idempotent-replayed", "true")])


async def test_fastapi_and_the_presolved_route_read_a_payment_alike(
    served: tuple[FastAPI, Client],
) -> None:
    """FastAPI's handler takes every request while the app has a dependency overridden."""
    app, http = served
    payer, other = bearer(uuid.uuid4()), bearer(uuid.uuid4())
    made = await http.post("/api/v1/payments", headers=payer | {"Idempotency-Key": "k"}, json=BODY)
    location = made.headers["Location"]

    async def reads() -> list[Answer]:
        answers = []
        for caller in (payer, other):
            response = await http.get(location, headers=caller | {"X-Request-ID": "alike"})
            answers.append(
                (response.status_code, sorted(response.headers.multi_items()), response.content)
            )
        return answers

    presolved = await reads()
    app.dependency_overrides[services] = services
    assert presolved == await reads()
    assert [status for status, _, _ in presolved] == [200, 404]
    assert json.loads(presolved[0][2]) == made.json()
