import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from gateway_it_support import Client, TopicTail, about, bearer

from schemas import ids
from schemas.messages import RefundPayment

# Payments these tests mark `succeeded` without the provider ever seeing them (no provider
# id): a refund of one can never be sent.
FAKED: list[uuid.UUID] = []


@pytest.fixture(autouse=True)
async def finish_fake_refunds(db: asyncpg.Pool) -> AsyncIterator[None]:
    """The stack's processor would fail such a refund (`no_provider_id`) when its command
    arrives; a test still leaves none `accepted` behind in the database a user runs."""
    yield
    await db.execute(
        """UPDATE payments_history.refunds SET status = 'failed', reserved = false,
               failure_reason = 'test finished', updated_at = now()
           WHERE payment_id = ANY($1::uuid[]) AND status = 'accepted'""",
        FAKED,
    )
    FAKED.clear()


async def succeeded_payment(client: Client, headers: dict[str, str], db: asyncpg.Pool) -> str:
    response = await client.post(
        "/api/v1/payments",
        headers=headers | {"Idempotency-Key": f"pay-{uuid.uuid4()}"},
        json={"plan_id": "monthly", "return_url": "https://cinema.test/back"},
    )
    payment_id = response.json()["payment_id"]
    FAKED.append(uuid.UUID(payment_id))
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


async def test_a_second_refund_finds_nothing_left(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    status, first = await refund(client, headers, payment_id, {"reason": "not for me"})
    assert (status, first["amount"]) == (202, "499.00")
    status, none_left = await refund(client, headers, payment_id)
    assert (status, none_left["error"]["code"]) == (409, "nothing_to_refund")


async def bought_period(
    db: asyncpg.Pool, user: uuid.UUID, payment_id: str, started_days_ago: int, days: int = 30
) -> None:
    """The period the payment bought, as the processors record it."""
    sub = ids.subscription_id(user)
    await db.execute(
        """INSERT INTO payments_history.subscriptions (id, user_id, plan_id, status,
               current_period_start, current_period_end, periods)
           VALUES ($1, $2, 'monthly', 'active', now() - make_interval(days => $3),
                   now() - make_interval(days => $3) + make_interval(days => $4), 1)""",
        sub,
        user,
        started_days_ago,
        days,
    )
    await db.execute(
        """INSERT INTO payments_history.subscription_periods
               (subscription_id, number, payment_id, kind, starts_at, ends_at)
           SELECT id, 1, $2, 'payment', current_period_start, current_period_end
           FROM payments_history.subscriptions WHERE id = $1""",
        sub,
        uuid.UUID(payment_id),
    )


async def test_past_fourteen_days_only_unused_whole_days_go_back_pro_rata(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    await bought_period(db, user, payment_id, started_days_ago=20)
    status, body = await refund(client, headers, payment_id)
    # 20 days in, a hair under 10 days left: 9 whole days × 499.00 / 30 = 149.70
    assert (status, body["amount"]) == (202, "149.70")


async def test_within_fourteen_days_everything_goes_back(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    await bought_period(db, user, payment_id, started_days_ago=13)
    status, body = await refund(client, headers, payment_id)
    assert (status, body["amount"]) == (202, "499.00")


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


async def test_same_key_replay_gives_the_same_refund_and_an_amount_is_refused(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    payment_id = await succeeded_payment(client, headers, db)
    start = await commands.snapshot()
    key = f"refund-{uuid.uuid4()}"
    first = await refund(client, headers, payment_id, key=key)
    again = await refund(client, headers, payment_id, {"reason": "again"}, key=key)
    assert first[0] == again[0] == 202
    assert first[1]["refund_id"] == again[1]["refund_id"]
    status, other = await refund(client, headers, payment_id, {"amount": "11.00"}, key=key)
    assert (status, other["error"]["code"]) == (422, "amount_not_allowed")
    refund_id = uuid.UUID(str(first[1]["refund_id"]))
    produced = about(await commands.since(start), "refund_id", refund_id)
    assert {message.message_id for _, message in produced} == {
        ids.message_id("RefundPayment", refund_id)
    }
    reserved = await db.fetchval(
        "SELECT sum(amount) FROM payments_history.refunds WHERE payment_id = $1",
        uuid.UUID(payment_id),
    )
    assert str(reserved) == "499.00"


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
    ("content", "code"),
    [
        (b'{"amount": "498.99"}', "amount_not_allowed"),
        (b'{"amount": 499}', "amount_not_allowed"),
        (b'{"amount": "0"}', "amount_not_allowed"),
        (b'{"amount": null}', "amount_not_allowed"),
        (b'{"amount": NaN}', "invalid_amount"),
        (b'{"amount": Infinity}', "invalid_amount"),
    ],
)
async def test_a_user_chosen_amount_gets_422_and_sends_nothing(
    content: bytes,
    code: str,
    client: Client,
    headers: dict[str, str],
    db: asyncpg.Pool,
    commands: TopicTail,
) -> None:
    """Issue 9: `{"amount": "498.99"}` refunded nearly all and kept the subscription."""
    payment_id = await succeeded_payment(client, headers, db)
    assert await refused_and_silent(client, headers, payment_id, db, commands, content=content) == (
        422,
        code,
    )


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
