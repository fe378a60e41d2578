import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from gateway_it_support import Client, GatewayFactory, TopicTail, about, bearer

from schemas import ids
from schemas.messages import ProviderNotification

PAYMENT = {"plan_id": "monthly", "return_url": "https://cinema.test/back"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_is_acknowledged_once_the_notification_is_in_kafka(
    client: Client, webhooks: TopicTail
) -> None:
    external = str(uuid.uuid4())
    start = await webhooks.snapshot()
    body = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {"id": external, "status": "succeeded", "amount": {"value": "1.00"}},
    }
    response = await client.post("/api/v1/webhooks/yookassa", json=body)
    assert (response.status_code, response.json()) == (200, {})
    produced = about(await webhooks.since(start), "object_id", external)
    assert len(produced) == 1
    key, message = produced[0]
    assert key == external.encode()
    assert isinstance(message, ProviderNotification)
    assert (message.event, message.payment_external_id, message.body) == (
        "payment.succeeded",
        external,
        body,
    )
    assert message.message_id == ids.message_id(
        "ProviderNotification", external, "payment.succeeded", "succeeded"
    )


async def test_refund_webhook_is_keyed_by_its_payment(client: Client, webhooks: TopicTail) -> None:
    refund_id, payment_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = await webhooks.snapshot()
    body = {
        "type": "notification",
        "event": "refund.succeeded",
        "object": {"id": refund_id, "payment_id": payment_id, "status": "succeeded"},
    }
    assert (await client.post("/api/v1/webhooks/yookassa", json=body)).status_code == 200
    [(key, message)] = about(await webhooks.since(start), "object_id", refund_id)
    assert key == payment_id.encode()
    assert message.payment_external_id == payment_id


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"type": "notification", "event": "payment.succeeded"}',
        b'{"type": "notification", "event": "payment.exploded", "object": {"id": "x"}}',
    ],
)
async def test_webhook_that_is_not_a_notification_gets_400_and_sends_nothing(
    content: bytes, client: Client, webhooks: TopicTail
) -> None:
    start = await webhooks.snapshot()
    response = await client.post(
        "/api/v1/webhooks/yookassa", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_notification"
    assert about(await webhooks.since(start), "object_id", "x") == []


async def test_webhook_from_outside_the_allowed_networks_gets_403(
    make_gateway: GatewayFactory,
) -> None:
    body = {"type": "notification", "event": "payment.canceled", "object": {"id": "abc"}}
    closed = await make_gateway(webhook_allowed_networks="185.71.76.0/27")
    assert (await closed.post("/api/v1/webhooks/yookassa", json=body)).status_code == 403
    opened = await make_gateway(webhook_allowed_networks="185.71.76.0/27,127.0.0.0/8")
    assert (await opened.post("/api/v1/webhooks/yookassa", json=body)).status_code == 200


async def test_kafka_unreachable_gets_503_with_retry_after_and_keeps_the_accepted_row(
    make_gateway: GatewayFactory, db: asyncpg.Pool
) -> None:
    gateway = await make_gateway(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    user = uuid.uuid4()
    response = await gateway.post(
        "/api/v1/payments", headers=bearer(user) | {"Idempotency-Key": "k"}, json=PAYMENT
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    status = await db.fetchval(
        "SELECT status FROM payments_history.payments WHERE id = $1", ids.payment_id(user, "k")
    )
    assert status == "accepted"  # the reconciler re-drives it; a retry re-produces it
    webhook = {"type": "notification", "event": "payment.canceled", "object": {"id": "x"}}
    assert (await gateway.post("/api/v1/webhooks/yookassa", json=webhook)).status_code == 503
    assert (await gateway.get("/readyz")).status_code == 503
    assert (await gateway.get("/healthz")).status_code == 200
    metrics = (await gateway.get("/metrics")).text
    assert 'gateway_unavailable_responses_total{dependency="broker"} 2.0' in metrics


async def test_postgres_unreachable_gets_503_with_retry_after(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(
        database_url=f"postgresql://billing:billing@127.0.0.1:{free_port()}/billing"
    )
    for response in (
        await gateway.get("/api/v1/plans"),
        await gateway.post(
            "/api/v1/payments",
            headers=bearer(uuid.uuid4()) | {"Idempotency-Key": "k"},
            json=PAYMENT,
        ),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "service_unavailable"
    ready = await gateway.get("/readyz")
    assert (ready.status_code, ready.json()["postgres"], ready.json()["kafka"]) == (
        503,
        False,
        True,
    )


async def forward(port: int, target: tuple[str, int]) -> asyncio.Server:
    """A TCP relay on `port` to `target`: a dependency that "comes back" when it starts."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    return await asyncio.start_server(relay, "127.0.0.1", port)


@pytest.fixture
async def relays() -> AsyncIterator[list[asyncio.Server]]:
    servers: list[asyncio.Server] = []
    yield servers
    for server in servers:
        server.close()


async def test_gateway_started_without_its_dependencies_recovers_when_they_are_back(
    make_gateway: GatewayFactory,
    kafka_bootstrap: str,
    database_url: str,
    relays: list[asyncio.Server],
) -> None:
    kafka_port, pg_port = free_port(), free_port()
    pg_target = database_url.rsplit("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    gateway = await make_gateway(
        kafka_bootstrap_servers=f"127.0.0.1:{kafka_port}",
        database_url=database_url.replace(f"{pg_target[0]}:{pg_target[1]}", f"127.0.0.1:{pg_port}"),
    )
    assert (await gateway.get("/readyz")).status_code == 503
    host, port = kafka_bootstrap.split(",")[0].rsplit(":", 1)
    relays.append(await forward(kafka_port, (host, int(port))))
    relays.append(await forward(pg_port, (pg_target[0], int(pg_target[1]))))
    assert (await gateway.get("/readyz")).status_code == 200
    response = await gateway.post(
        "/api/v1/payments", headers=bearer(uuid.uuid4()) | {"Idempotency-Key": "k"}, json=PAYMENT
    )
    assert response.status_code == 202


async def test_posts_beyond_the_users_rate_get_429_with_retry_after(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(gateway_rate_limit_per_minute=2)
    headers = bearer(uuid.uuid4())
    codes = []
    for n in range(3):
        response = await gateway.post(
            "/api/v1/payments", headers=headers | {"Idempotency-Key": f"k{n}"}, json=PAYMENT
        )
        codes.append(response.status_code)
    assert codes == [202, 202, 429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"
    other = await gateway.post(
        "/api/v1/payments", headers=bearer(uuid.uuid4()) | {"Idempotency-Key": "k"}, json=PAYMENT
    )
    assert other.status_code == 202


async def test_ready_and_metrics_report_by_route_template(client: Client) -> None:
    assert (await client.get("/readyz")).status_code == 200
    await client.get(f"/api/v1/payments/{uuid.uuid4()}", headers=bearer(uuid.uuid4()))
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'gateway_http_requests_total{method="GET",route="/api/v1/payments/{payment_id}",'
        'status="404"}' in metrics.text
    )
