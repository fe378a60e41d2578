import uuid

import asyncpg
import pytest
from gateway_it_support import Client, TopicTail, about, bearer

from schemas import ids
from schemas.messages import RefundPayment


async def succeeded_payment(client: Client, headers: dict[str, str], db: asyncpg.Pool) -> str:
    response = await client.post(
        "/api/v1/payments",
        headers=headers | {"Idempotency-Key": f"pay-{uuid.uuid4()}"},
        json={"plan_id": "monthly", "return_url": "https://cinema.test/back"},
    )
    payment_id = response.json()["payment_id"]
    await db.execute(
        "UPDATE payments_history.payments SET status = 'succeeded' WHERE id = $1",
        uuid.UUID(payment_id),
    )
    return payment_id


async def refund(
    client: Client,
    headers: dict[str, str],
    payment_id: str,
    body: object = None,
    key: str | None = None,
    content: bytes | None = None,
) -> tuple[int, dict[str, object]]:
    request_headers = headers | {"Idempotency-Key": key or f"refund-{uuid.uuid4()}"}
    if content is not None:
        request_headers["Content-Type"] = "application/json"
    response = await client.post(
        f"/api/v1/payments/{payment_id}/refunds",
        headers=request_headers,
        json=None if content is not None else ({} if body is None else body),
        content=content,
    )
    return response.status_code, response.json()


async def test_refund_defaults_to_everything_left_and_reaches_kafka(
    client: Client,
    headers: dict[str, str],
    user: uuid.UUID,
    db: asyncpg.Pool,
    commands: TopicTail,
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    start = await commands.snapshot()
    key = f"refund-{uuid.uuid4()}"
    status, body = await refund(client, headers, payment_id, key=key)
    assert status == 202
    refund_id = ids.refund_id(user, key)
    assert body | {"created_at": None} == {
        "refund_id": str(refund_id),
        "payment_id": payment_id,
        "status": "accepted",
        "amount": "499.00",
        "currency": "RUB",
        "created_at": None,
    }
    produced = about(await commands.since(start), "refund_id", refund_id)
    assert len(produced) == 1
    key_bytes, command = produced[0]
    assert key_bytes == str(user).encode()
    assert isinstance(command, RefundPayment)
    assert command.message_id == ids.message_id("RefundPayment", refund_id)
    assert str(command.amount) == "499.00"
    fetched = await client.get(f"/api/v1/refunds/{refund_id}", headers=headers)
    assert fetched.json() == body
    assert (
        await client.get(f"/api/v1/refunds/{refund_id}", headers=bearer(uuid.uuid4()))
    ).status_code == 404


async def test_partial_refunds_reserve_their_amount_until_nothing_is_left(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    status, first = await refund(client, headers, payment_id, content=b'{"amount": 100.1}')
    assert (status, first["amount"]) == (202, "100.10")  # a JSON number, read exactly
    status, too_much = await refund(client, headers, payment_id, {"amount": "398.91"})
    assert (status, too_much["error"]["code"]) == (422, "refund_exceeds_payment")
    status, rest = await refund(client, headers, payment_id)
    assert (status, rest["amount"]) == (202, "398.90")
    status, none_left = await refund(client, headers, payment_id, {"amount": "0.01"})
    assert (status, none_left["error"]["code"]) == (409, "nothing_to_refund")


async def test_refund_counts_what_was_already_refunded(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    await db.execute(
        "UPDATE payments_history.payments SET refunded_amount = 400 WHERE id = $1",
        uuid.UUID(payment_id),
    )
    status, body = await refund(client, headers, payment_id)
    assert (status, body["amount"]) == (202, "99.00")


async def test_same_key_replay_gives_the_same_refund_and_another_amount_is_refused(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    start = await commands.snapshot()
    key = f"refund-{uuid.uuid4()}"
    first = await refund(client, headers, payment_id, {"amount": "10.00"}, key=key)
    again = await refund(client, headers, payment_id, {"amount": "10"}, key=key)
    assert first[0] == again[0] == 202
    assert first[1]["refund_id"] == again[1]["refund_id"]
    status, other = await refund(client, headers, payment_id, {"amount": "11.00"}, key=key)
    assert (status, other["error"]["code"]) == (422, "idempotency_key_reused")
    refund_id = uuid.UUID(str(first[1]["refund_id"]))
    produced = about(await commands.since(start), "refund_id", refund_id)
    assert {message.message_id for _, message in produced} == {
        ids.message_id("RefundPayment", refund_id)
    }
    reserved = await db.fetchval(
        "SELECT sum(amount) FROM payments_history.refunds WHERE payment_id = $1",
        uuid.UUID(payment_id),
    )
    assert str(reserved) == "10.00"


async def refused_and_silent(
    client: Client,
    headers: dict[str, str],
    payment_id: str,
    db: asyncpg.Pool,
    commands: TopicTail,
    **request: object,
) -> tuple[int, str]:
    """The answer's status and code, asserting that no refund was stored nor produced."""
    start = await commands.snapshot()
    status, body = await refund(client, headers, payment_id, **request)  # type: ignore[arg-type]
    stored = await db.fetchval(
        "SELECT count(*) FROM payments_history.refunds WHERE payment_id = $1",
        uuid.UUID(payment_id),
    )
    assert stored == 0
    assert about(await commands.since(start), "payment_id", uuid.UUID(payment_id)) == []
    return status, str(body["error"]["code"])  # type: ignore[index]


@pytest.mark.parametrize(
    "content",
    [
        b'{"amount": "0"}',
        b'{"amount": 0}',
        b'{"amount": "-1.00"}',
        b'{"amount": -1}',
        b'{"amount": "NaN"}',
        b'{"amount": NaN}',
        b'{"amount": 1e309}',
        b'{"amount": "1.005"}',
        b'{"amount": 1.005}',
        b'{"amount": Infinity}',
    ],
)
async def test_amount_that_is_not_positive_money_gets_422_and_sends_nothing(
    content: bytes,
    client: Client,
    headers: dict[str, str],
    db: asyncpg.Pool,
    commands: TopicTail,
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    assert await refused_and_silent(client, headers, payment_id, db, commands, content=content) == (
        422,
        "invalid_amount",
    )


async def test_refund_beyond_the_payment_gets_422_and_sends_nothing(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    assert await refused_and_silent(
        client, headers, payment_id, db, commands, body={"amount": "499.01"}
    ) == (422, "refund_exceeds_payment")


@pytest.mark.parametrize("status", ["accepted", "pending", "canceled", "failed"])
async def test_refund_of_a_payment_that_did_not_succeed_gets_409_and_sends_nothing(
    status: str,
    client: Client,
    headers: dict[str, str],
    db: asyncpg.Pool,
    commands: TopicTail,
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    await db.execute(
        "UPDATE payments_history.payments SET status = $2 WHERE id = $1",
        uuid.UUID(payment_id),
        status,
    )
    assert await refused_and_silent(client, headers, payment_id, db, commands) == (
        409,
        "payment_not_refundable",
    )


async def test_refund_of_another_users_payment_gets_404_and_sends_nothing(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    stranger = bearer(uuid.uuid4())
    assert await refused_and_silent(client, stranger, payment_id, db, commands) == (
        404,
        "not_found",
    )
