"""The running stack (`make up`) for the end-to-end admin tests: addresses, a paid payment made
the way a viewer makes one, and waiting for the pipeline. Skips with a reason when it is down."""

import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from tests.chaos.stack import stack_missing


@dataclass(frozen=True)
class Stack:
    gateway: str
    admin: str
    provider: str
    auth: str
    database_url: str
    username: str
    password: str


def stack_or_skip() -> Stack:
    admin_url = os.environ.get("ADMIN_URL", "http://127.0.0.1:8001/admin/")
    stack = Stack(
        gateway=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/"),
        admin=admin_url.rstrip("/").removesuffix("/admin"),
        provider=os.environ.get("PROVIDER_URL", "http://127.0.0.1:8081").rstrip("/"),
        auth=os.environ.get("AUTH_URL", "http://127.0.0.1:8082").rstrip("/"),
        database_url=os.environ.get(
            "DATABASE_URL", "postgresql://billing:billing@127.0.0.1:55432/billing"
        ),
        username=os.environ.get("ADMIN_USERNAME", "admin"),
        password=os.environ.get("ADMIN_PASSWORD", "admin"),
    )
    for name in ("gateway", "admin", "provider", "auth"):
        url = f"{getattr(stack, name)}/healthz"
        try:
            ok = httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            stack_missing(f"needs the running stack (`make up`): {name} does not answer {url}")
    if not _ready(f"{stack.gateway}/readyz"):
        stack_missing(
            "needs the running stack: the gateway's /readyz says Kafka or PostgreSQL is down"
        )
    return stack


def _ready(url: str, timeout: float = 20.0) -> bool:
    """The stack may be restarting a broker (chaos tests share it): wait a little for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(1)
    return False


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def payment_row(stack: Stack, payment_id: str) -> dict[str, Any] | None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT status, external_id, refunded, refunded_amount::text, user_id"
            " FROM payments_history.payments WHERE id = %s",
            (payment_id,),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    keys = ("status", "external_id", "refunded", "refunded_amount", "user_id")
    return dict(zip(keys, row, strict=True))


def paid_payment(stack: Stack) -> tuple[str, str, str]:
    """A monthly subscription bought and paid with the test card: (payment_id, user_id, token)."""
    user_id = str(uuid.uuid4())
    token = _post(f"{stack.auth}/api/v1/token", {"user_id": user_id}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"plan_id": "monthly", "return_url": "https://cinema.example/return"}
    response = _post(f"{stack.gateway}/api/v1/payments", body, headers)
    payment_id = response.json()["payment_id"]
    row = wait_for(
        "pending", lambda: (r := payment_row(stack, payment_id)) and r["external_id"] and r
    )
    card = {"card_number": "4242424242424242"}
    _post(f"{stack.provider}/sandbox/payments/{row['external_id']}/confirm", card)
    wait_for(
        "succeeded", lambda: (payment_row(stack, payment_id) or {}).get("status") == "succeeded"
    )
    return payment_id, user_id, token


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """Retries what is safe to retry (idempotent calls): the shared stack may be under a
    fault-injection test of another suite at the same moment."""
    response = None
    for _ in range(10):
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=15)
        except httpx.HTTPError:
            time.sleep(1)
            continue
        if response.status_code < 300:
            return response
        time.sleep(1)
    raise AssertionError(f"POST {url} kept failing: {response.text if response else 'no answer'}")


def provider_refunds_of(stack: Stack, external_id: str) -> list[dict[str, Any]]:
    ledger = httpx.get(f"{stack.provider}/sandbox/ledger", timeout=10).json()
    return [r for r in ledger["refunds"] if str(r.get("payment_id")) == str(external_id)]


def subscription_active(stack: Stack, token: str) -> bool:
    response = httpx.get(
        f"{stack.gateway}/api/v1/subscription",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return bool(response.json().get("active"))


def auth_roles(stack: Stack, user_id: str) -> list[str]:
    response = httpx.get(f"{stack.auth}/api/v1/users/{user_id}/roles", timeout=10)
    return list(response.json().get("roles", []))


def audit_messages(stack: Stack, object_id: str) -> list[str]:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT change_message FROM django_admin_log WHERE object_id = %s ORDER BY id",
            (object_id,),
        )
        return [row[0] for row in cursor.fetchall()]


def refund_row(stack: Stack, payment_id: str) -> dict[str, Any] | None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT status, amount::text, ends_access, id FROM payments_history.refunds"
            " WHERE payment_id = %s",
            (payment_id,),
        )
        row = cursor.fetchone()
    keys = ("status", "amount", "ends_access", "id")
    return None if row is None else dict(zip(keys, row, strict=True))


def admin_login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
    response = client.post("/admin/login/?next=/admin/", data=form)
    assert response.status_code == 302, "admin login failed (ADMIN_USERNAME/ADMIN_PASSWORD?)"


def admin_refund(
    client: httpx.Client, payment_id: str, amount: str = "", access: str = "end", submits: int = 1
) -> None:
    """Fill the payment's refund page as an operator does; `submits` > 1 re-posts the same form."""
    url = f"/admin/billing/payment/{payment_id}/refund/"
    page = client.get(url)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(csrfmiddlewaretoken|nonce)" value="([^"]+)"', page.text))
    body = {**fields, "amount": amount, "access": access}
    for _ in range(submits):
        response = client.post(url, data=body, headers={"Referer": str(page.url)})
        assert response.status_code == 302, response.text[:500]


def handled(stack: Stack, consumer: str, message_id: uuid.UUID) -> bool:
    """Whether `consumer` has fully handled the message (its inbox row is written)."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT 1 FROM payments_history.inbox WHERE consumer = %s AND message_id = %s",
            (consumer, message_id),
        )
        return cursor.fetchone() is not None
