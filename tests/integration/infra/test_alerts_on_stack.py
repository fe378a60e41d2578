"""The supervised Prometheus scrapes every process, and the alert rules' expressions (read
from infra/prometheus/alerts.yml, not copied) become true on conditions provoked on the real
stack: the notifications consumer stopped while events arrive → ConsumerLagGrowing; a poison
message dead-lettered → DeadLettersPending."""

import asyncio
import json
import os
import time
import urllib.parse
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from common.metrics import PORTS
from schemas import ids
from schemas.codec import encode
from schemas.messages import PaymentPending
from schemas.topics import EVENTS

if TYPE_CHECKING:
    from tests.integration.conftest import Supervisor

PROMETHEUS_URL = os.environ.get("PROMETHEUS_URL", "http://127.0.0.1:9090")
NOTIFICATIONS = "consumer-notifications"
NOTIFICATIONS_GROUP = "billing-consumer-notifications"


def query(promql: str) -> list[dict[str, Any]]:
    url = f"{PROMETHEUS_URL}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def alert_expr(repo_root: Path, name: str) -> str:
    rules = yaml.safe_load((repo_root / "infra" / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name:
                return str(rule["expr"])
    raise AssertionError(f"no alert {name} in alerts.yml")


def values_by(promql: str, label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in query(promql)}


async def until(check: Any, within: float, every: float = 2.0) -> Any:
    """The first truthy `check()`, polled; the last falsy one after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = await asyncio.to_thread(check)
        if got or time.monotonic() > deadline:
            return got
        await asyncio.sleep(every)


def pending_event() -> PaymentPending:
    payment_id, user_id = uuid.uuid4(), uuid.uuid4()
    return PaymentPending(
        message_id=ids.message_id("PaymentPending", payment_id),
        payment_id=payment_id,
        user_id=user_id,
        plan_id="monthly",
        amount=Decimal("499.00"),
        currency="RUB",
        external_id=uuid.uuid4(),
        confirmation_url="http://127.0.0.1:8081/checkout/test",
    )


async def test_prometheus_scrapes_every_process_and_each_is_up(supervisor: "Supervisor") -> None:
    expected = {"prometheus", "gateway", *PORTS}

    def all_up() -> dict[str, float]:
        up = values_by("min by (job) (up)", "job")
        return up if expected <= {job for job, v in up.items() if v == 1} else {}

    up = await until(all_up, within=60)
    assert up, f"not every target up: {values_by('min by (job) (up)', 'job')}"


def test_prometheus_accepts_every_dashboard_and_rule_expression(
    repo_root: Path, supervisor: "Supervisor"
) -> None:
    dashboard = json.loads((repo_root / "infra/grafana/dashboards/billing.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    rules = yaml.safe_load((repo_root / "infra/prometheus/alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for expr in exprs:
        query(expr)  # a parse error is a 400: urlopen raises


def test_prometheus_loaded_every_alert_rule(repo_root: Path, supervisor: "Supervisor") -> None:
    url = f"{PROMETHEUS_URL}/api/v1/rules?type=alert"
    with urllib.request.urlopen(url, timeout=10) as response:
        groups = json.load(response)["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    rules = yaml.safe_load((repo_root / "infra/prometheus/alerts.yml").read_text())
    assert loaded == {rule["alert"] for group in rules["groups"] for rule in group["rules"]}


@pytest.mark.disruptive(order=4)
async def test_stopped_notifications_consumer_makes_the_lag_alert_true(
    repo_root: Path, supervisor: "Supervisor", kafka_bootstrap: str
) -> None:
    expr = alert_expr(repo_root, "ConsumerLagGrowing")
    lag = f'sum(max without (instance) (billing_consumer_lag{{group="{NOTIFICATIONS_GROUP}"}}))'
    quiet = await until(lambda: NOTIFICATIONS_GROUP not in values_by(expr, "group"), within=120)
    assert quiet, "the lag alert's expression is already true before the consumer is stopped"
    assert supervisor.ctl("stop", NOTIFICATIONS).returncode == 0
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        fired: dict[str, float] = {}
        for _ in range(45):  # a few events every 2 s until the expression holds (≤ 90 s)
            for _ in range(3):
                event = pending_event()
                await producer.send_and_wait(EVENTS, encode(event), key=str(event.user_id).encode())
            await asyncio.sleep(2)
            fired = await asyncio.to_thread(values_by, expr, "group")
            if NOTIFICATIONS_GROUP in fired:
                break
        assert NOTIFICATIONS_GROUP in fired, f"lag alert expression never true: {fired}"
        assert fired[NOTIFICATIONS_GROUP] > 0
    finally:
        await producer.stop()
        supervisor.ctl("start", NOTIFICATIONS)
    drained = await until(lambda: values_by(lag, "") == {"": 0.0}, within=90)
    assert drained, f"lag not back to 0 after the restart: {values_by(lag, '')}"


@pytest.mark.disruptive(order=4)
async def test_a_dead_letter_makes_the_dlq_alert_true(
    repo_root: Path, supervisor: "Supervisor", kafka_bootstrap: str, database_url: str
) -> None:
    expr = alert_expr(repo_root, "DeadLettersPending")
    # The `for:` clause is not part of the expression: it holds as soon as the gauge counts it.
    before = values_by(expr, "consumer").get(NOTIFICATIONS, 0.0)
    key = f"alert-test-{uuid.uuid4()}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(EVENTS, b"{not json: poison", key=key.encode())
    finally:
        await producer.stop()
    try:
        got = await until(
            lambda: values_by(expr, "consumer").get(NOTIFICATIONS, 0.0) >= before + 1, within=90
        )
        assert got, (
            f"DLQ alert expression did not count the dead letter: {values_by(expr, 'consumer')}"
        )
    finally:
        conn = await asyncpg.connect(database_url)
        try:  # this test's own poison only; the consumers never write an inbox row for it
            await conn.execute("DELETE FROM payments_history.dead_letters WHERE key = $1", key)
        finally:
            await conn.close()
