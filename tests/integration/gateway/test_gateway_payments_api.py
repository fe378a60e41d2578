import asyncio
import uuid
from decimal import Decimal

import asyncpg
import pytest
from gateway_it_support import Client, TopicTail, about, bearer

from schemas import ids
from schemas.messages import CreatePayment

RETURN_URL = "https://cinema.test/after-payment"


def body(plan_id: str = "monthly", return_url: str = RETURN_URL) -> dict[str, str]:
    return {"plan_id": plan_id, "return_url": return_url}


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return headers | {"Idempotency-Key": key or f"key-{uuid.uuid4()}"}


async def test_plans_list_active_plans_with_amount_as_decimal_string(
    client: Client, db: asyncpg.Pool
) -> None:
    hidden = f"gone-{uuid.uuid4().hex[:8]}"
    await db.execute(
        "INSERT INTO payments_history.plans (id, title, amount, currency, period_days, active)"
        " VALUES ($1, 'retired', 1.50, 'RUB', 7, false)",
        hidden,
    )
    try:
        response = await client.get("/api/v1/plans")
    finally:
        await db.execute("DELETE FROM payments_history.plans WHERE id = $1", hidden)
    assert response.status_code == 200
    plans = {plan["id"]: plan for plan in response.json()}
    assert hidden not in plans
    expected = await db.fetchrow("SELECT * FROM payments_history.plans WHERE id = 'monthly'")
    assert plans["monthly"] == {
        "id": "monthly",
        "title": expected["title"],
        "amount": f"{expected['amount']:.2f}",
        "currency": expected["currency"],
        "period_days": expected["period_days"],
        "period_seconds": expected["period_seconds"],
    }


async def test_payment_is_accepted_after_its_command_is_in_kafka(
    client: Client,
    headers: dict[str, str],
    user: uuid.UUID,
    db: asyncpg.Pool,
    commands: TopicTail,
) -> None:
    start = await commands.snapshot()
    key = f"key-{uuid.uuid4()}"
    response = await client.post("/api/v1/payments", headers=keyed(headers, key), json=body())
    assert response.status_code == 202
    payment = response.json()
    payment_id = ids.payment_id(user, key)
    assert payment["payment_id"] == str(payment_id)
    assert response.headers["Location"] == f"/api/v1/payments/{payment_id}"
    plan = await db.fetchrow(
        "SELECT amount, currency FROM payments_history.plans WHERE id='monthly'"
    )
    assert payment | {"created_at": None, "updated_at": None} == {
        "payment_id": str(payment_id),
        "user_id": str(user),
        "plan_id": "monthly",
        "amount": f"{plan['amount']:.2f}",
        "currency": plan["currency"],
        "status": "accepted",
        "confirmation_url": None,
        "refunded_amount": "0.00",
        "refunded": False,
        "created_at": None,
        "updated_at": None,
    }
    row = await db.fetchrow("SELECT * FROM payments_history.payments WHERE id = $1", payment_id)
    assert (row["system_id"], row["return_url"], len(row["request_fingerprint"])) == (
        ids.SYSTEM_YOOKASSA,
        RETURN_URL,
        64,
    )
    produced = about(await commands.since(start), "payment_id", payment_id)
    assert len(produced) == 1
    key_bytes, command = produced[0]
    assert key_bytes == str(user).encode()
    assert isinstance(command, CreatePayment)
    assert command.message_id == ids.message_id("CreatePayment", payment_id)
    assert (command.amount, command.currency, command.return_url) == (
        plan["amount"],
        plan["currency"],
        RETURN_URL,
    )


async def test_same_key_replay_returns_the_same_payment_and_the_same_command(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    start = await commands.snapshot()
    request_headers = keyed(headers)
    first, second = await asyncio.gather(
        client.post("/api/v1/payments", headers=request_headers, json=body()),
        client.post("/api/v1/payments", headers=request_headers, json=body()),
    )
    third = await client.post("/api/v1/payments", headers=request_headers, json=body())
    assert {first.status_code, second.status_code, third.status_code} == {202}
    payment_id = uuid.UUID(first.json()["payment_id"])
    assert second.json()["payment_id"] == third.json()["payment_id"] == str(payment_id)
    rows = await db.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE id = $1", payment_id
    )
    assert rows == 1
    produced = about(await commands.since(start), "payment_id", payment_id)
    assert {message.message_id for _, message in produced} == {
        ids.message_id("CreatePayment", payment_id)
    }


async def test_replay_after_the_provider_was_asked_produces_nothing(
    client: Client, headers: dict[str, str], db: asyncpg.Pool, commands: TopicTail
) -> None:
    request_headers = keyed(headers)
    first = await client.post("/api/v1/payments", headers=request_headers, json=body())
    payment_id = uuid.UUID(first.json()["payment_id"])
    await db.execute(
        "UPDATE payments_history.payments SET status = 'pending',"
        " confirmation_url = 'https://pay.test/c' WHERE id = $1",
        payment_id,
    )
    start = await commands.snapshot()
    replay = await client.post("/api/v1/payments", headers=request_headers, json=body())
    assert replay.status_code == 202
    assert replay.json()["status"] == "pending"
    assert about(await commands.since(start), "payment_id", payment_id) == []


async def test_same_key_with_another_body_is_refused_and_sends_nothing(
    client: Client, headers: dict[str, str], commands: TopicTail
) -> None:
    request_headers = keyed(headers)
    first = await client.post("/api/v1/payments", headers=request_headers, json=body())
    start = await commands.snapshot()
    other = await client.post(
        "/api/v1/payments", headers=request_headers, json=body(plan_id="yearly")
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert (
        about(await commands.since(start), "payment_id", uuid.UUID(first.json()["payment_id"]))
        == []
    )


@pytest.mark.parametrize("plan_id", ["no-such-plan", "inactive"])
async def test_unknown_or_inactive_plan_gets_422_and_stores_nothing(
    plan_id: str, client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    if plan_id == "inactive":
        plan_id = f"off-{uuid.uuid4().hex[:8]}"
        await db.execute(
            "INSERT INTO payments_history.plans (id, title, amount, currency, period_days, active)"
            " VALUES ($1, 'off', 9.00, 'RUB', 7, false)",
            plan_id,
        )
    response = await client.post("/api/v1/payments", headers=keyed(headers), json=body(plan_id))
    await db.execute("DELETE FROM payments_history.plans WHERE id = $1 AND NOT active", plan_id)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_plan"
    stored = await db.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE user_id = $1", user
    )
    assert stored == 0


async def test_prefer_wait_answers_201_once_the_payment_has_its_confirmation_url(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    key = f"key-{uuid.uuid4()}"
    payment_id = ids.payment_id(user, key)

    async def provider_answers() -> None:
        await asyncio.sleep(0.3)
        async with db.acquire() as conn, conn.transaction():  # as a processor does
            await conn.execute(
                "UPDATE payments_history.payments SET status = 'pending',"
                " confirmation_url = 'https://pay.test/checkout/1' WHERE id = $1",
                payment_id,
            )
            await conn.execute("NOTIFY billing_outbox")

    processor = asyncio.create_task(provider_answers())
    response = await client.post(
        "/api/v1/payments", headers=keyed(headers, key) | {"Prefer": "wait=99"}, json=body()
    )
    await processor
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "wait=10"
    assert response.json()["confirmation_url"] == "https://pay.test/checkout/1"
    assert response.json()["status"] == "pending"


async def test_prefer_wait_that_runs_out_answers_202(
    client: Client, headers: dict[str, str]
) -> None:
    started = asyncio.get_running_loop().time()
    response = await client.post(
        "/api/v1/payments", headers=keyed(headers) | {"Prefer": "wait=1"}, json=body()
    )
    assert response.status_code == 202
    assert "Preference-Applied" not in response.headers
    assert asyncio.get_running_loop().time() - started >= 1.0


async def test_payment_is_visible_to_its_owner_only(
    client: Client, headers: dict[str, str]
) -> None:
    created = await client.post("/api/v1/payments", headers=keyed(headers), json=body())
    path = created.headers["Location"]
    mine = await client.get(path, headers=headers)
    assert mine.status_code == 200
    assert mine.json() == created.json()
    theirs = await client.get(path, headers=bearer(uuid.uuid4()))
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    unknown = await client.get(f"/api/v1/payments/{uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 404
    assert (await client.get("/api/v1/payments/not-a-uuid", headers=headers)).status_code == 422


async def test_payments_list_pages_newest_first_through_the_cursor(
    client: Client, headers: dict[str, str]
) -> None:
    created = []
    for _ in range(5):
        response = await client.post("/api/v1/payments", headers=keyed(headers), json=body())
        created.append(response.json()["payment_id"])
    await client.post("/api/v1/payments", headers=keyed(bearer(uuid.uuid4())), json=body())
    seen: list[str] = []
    sizes = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/payments", headers=headers, params=params)).json()
        seen += [item["payment_id"] for item in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next"]
        if cursor is None:
            break
    assert sizes == [2, 2, 1]
    assert seen == list(reversed(created))


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"cursor": "forged!"}])
async def test_payments_list_refuses_bad_paging_parameters(
    params: dict[str, object], client: Client, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/payments", headers=headers, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"validation_error", "invalid_cursor"}


async def test_subscription_is_none_before_the_first_payment(
    client: Client, headers: dict[str, str], user: uuid.UUID
) -> None:
    body = (await client.get("/api/v1/subscription", headers=headers)).json()
    assert body["user_id"] == str(user)
    assert (body["status"], body["active"], body["expires_at"]) == ("none", False, None)
    assert body["payment_method"] is None and body["dunning"] is None


async def test_subscription_shows_the_record_its_card_and_its_dunning(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    await db.execute(
        """INSERT INTO payments_history.subscriptions (id, user_id, plan_id, status,
               current_period_start, current_period_end, periods, auto_renew,
               payment_method_id, card_last4, card_expiry, dunning_attempt, next_retry_at,
               last_error, grace_until)
           VALUES ($1, $2, 'monthly', 'past_due', now() - interval '30 days', now(), 1, true,
                   'pm-1', '4242', '12/2030', 1, now() + interval '1 day',
                   'insufficient_funds', now() + interval '7 days')""",
        ids.subscription_id(user),
        user,
    )
    body = (await client.get("/api/v1/subscription", headers=headers)).json()
    assert (body["status"], body["active"], body["auto_renew"]) == ("past_due", True, True)
    assert body["expires_at"] == body["current_period_end"]
    assert body["payment_method"] == {
        "type": "bank_card",
        "card_last4": "4242",
        "expiry": "12/2030",
    }
    assert body["dunning"]["attempt"] == 1 and body["dunning"]["last_error"] == "insufficient_funds"
    assert body["next_charge_at"] == body["dunning"]["next_retry_at"]
    assert body["next_charge_amount"] == "499.00"


async def test_cancel_resume_and_forgetting_the_card_change_the_subscription(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    keyed = headers | {"Idempotency-Key": f"sub-{uuid.uuid4()}"}
    none = await client.post("/api/v1/subscription/cancel", headers=keyed)
    assert (none.status_code, none.json()["error"]["code"]) == (409, "no_subscription")
    await db.execute(
        """INSERT INTO payments_history.subscriptions (id, user_id, plan_id, status,
               current_period_start, current_period_end, periods, auto_renew,
               payment_method_id, card_last4, card_expiry)
           VALUES ($1, $2, 'monthly', 'active', now(), now() + interval '30 days', 1, true,
                   'pm-1', '4242', '12/2030')""",
        ids.subscription_id(user),
        user,
    )
    canceled = await client.post("/api/v1/subscription/cancel", headers=keyed)
    assert canceled.status_code == 200
    assert canceled.json()["cancel_at_period_end"] is True and canceled.json()["active"] is True
    assert canceled.json()["next_charge_at"] is None
    resumed = (await client.post("/api/v1/subscription/resume", headers=keyed)).json()
    assert resumed["cancel_at_period_end"] is False and resumed["next_charge_at"] is not None
    forgot = (await client.delete("/api/v1/subscription/payment-method", headers=headers)).json()
    assert forgot["payment_method"] is None and forgot["next_charge_at"] is None
    assert forgot["active"] is True
    events = await db.fetch(
        "SELECT type FROM payments_history.outbox WHERE key = $1 AND type = ANY($2) ORDER BY id",
        str(user),
        ["SubscriptionCanceled", "SubscriptionResumed", "SubscriptionChanged"],
    )  # the stack's consumer may announce the role too: only the gateway's events count here
    assert [e["type"] for e in events] == [
        "SubscriptionCanceled",
        "SubscriptionResumed",
        "SubscriptionChanged",
    ]


async def test_auto_renew_is_stored_as_the_users_consent(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    response = await client.post(
        "/api/v1/payments",
        headers=headers | {"Idempotency-Key": f"pay-{uuid.uuid4()}"},
        json={"plan_id": "monthly", "return_url": "https://cinema.test/b", "auto_renew": True},
    )
    assert response.status_code == 202
    stored = await db.fetchval(
        "SELECT auto_renew FROM payments_history.payments WHERE id = $1",
        uuid.UUID(response.json()["payment_id"]),
    )
    assert stored is True


def test_decimal_amounts_are_what_the_plan_costs() -> None:
    assert f"{Decimal('499'):.2f}" == "499.00"
