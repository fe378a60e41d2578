"""`python -m scripts.demo`: one subscription bought end to end against the running stack.

A fresh user gets a token from the Auth sandbox, buys `monthly` through the gateway,
pays on the sandbox provider with the test card, and waits for the subscription to turn
active. The provider's payment id is read from the `confirmation_url` (…/checkout/{id}),
since the gateway's payment JSON does not carry it. Exit 0 on success, 1 otherwise.
"""

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from common.settings import Settings

TEST_CARD = "4242424242424242"
PLAN = "monthly"
console = Console()


class DemoFailed(RuntimeError):
    """A step did not give what it should; the message says which."""


@dataclass
class Outcome:
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    payment: dict[str, Any] = field(default_factory=dict)
    subscription: dict[str, Any] = field(default_factory=dict)
    notifications: list[str] = field(default_factory=list)


def poll(what: str, fetch: Callable[[], Any], done: Callable[[Any], bool], within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: not done within {within:.0f}s (last: {value})")
        time.sleep(0.5)


def check_stack(http: httpx.Client, s: Settings) -> None:
    for name, url in [
        ("gateway", s.gateway_url),
        ("provider", s.provider_url),
        ("auth", s.auth_url),
        ("notify", s.notify_url),
    ]:
        try:
            http.get(f"{url}/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            raise DemoFailed(
                f"{name} at {url} is not answering ({exc}); is the stack up? Run `make up`."
            ) from exc


def token_for(http: httpx.Client, s: Settings, user_id: uuid.UUID) -> str:
    response = http.post(f"{s.auth_url}/api/v1/token", json={"user_id": str(user_id)})
    response.raise_for_status()
    return str(response.json()["access_token"])


def create_payment(http: httpx.Client, s: Settings, token: str) -> dict[str, Any]:
    plans = http.get(f"{s.gateway_url}/api/v1/plans").raise_for_status().json()
    if PLAN not in [plan["id"] for plan in plans]:
        raise DemoFailed(f"no {PLAN!r} plan among {plans}")
    response = http.post(
        f"{s.gateway_url}/api/v1/payments",
        json={"plan_id": PLAN, "return_url": f"{s.gateway_url}/"},
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": f"demo-{uuid.uuid4()}",
            "Prefer": "wait=5",
        },
    )
    if response.status_code not in (201, 202):
        raise DemoFailed(f"POST /api/v1/payments -> {response.status_code}: {response.text}")
    return dict(response.json())


def payment_of(http: httpx.Client, s: Settings, token: str, payment_id: str) -> dict[str, Any]:
    url = f"{s.gateway_url}/api/v1/payments/{payment_id}"
    return dict(http.get(url, headers={"Authorization": f"Bearer {token}"}).json())


def pay(http: httpx.Client, s: Settings, confirmation_url: str) -> None:
    external_id = confirmation_url.split("/checkout/")[-1].split("?")[0].strip("/")
    response = http.post(
        f"{s.provider_url}/sandbox/payments/{external_id}/confirm", json={"card_number": TEST_CARD}
    )
    if response.status_code >= 400:
        raise DemoFailed(f"confirming {external_id} -> {response.status_code}: {response.text}")


def run(http: httpx.Client, s: Settings, outcome: Outcome) -> None:
    check_stack(http, s)
    token = token_for(http, s, outcome.user_id)
    auth = {"Authorization": f"Bearer {token}"}
    created = create_payment(http, s, token)
    payment = poll(
        "confirmation_url",
        lambda: payment_of(http, s, token, created["payment_id"]),
        lambda p: bool(p.get("confirmation_url")),
        15,
    )
    console.print(f"confirmation_url: {payment['confirmation_url']}")
    pay(http, s, payment["confirmation_url"])
    outcome.subscription = poll(
        "subscription",
        lambda: http.get(f"{s.gateway_url}/api/v1/subscription", headers=auth).json(),
        lambda sub: sub.get("active") is True,
        30,
    )
    outcome.payment = payment_of(http, s, token, created["payment_id"])
    outcome.notifications = poll(
        "notification",
        lambda: templates(http, s, outcome.user_id),
        lambda names: "payment_succeeded" in names,
        15,
    )


def templates(http: httpx.Client, s: Settings, user_id: uuid.UUID) -> list[str]:
    body = http.get(f"{s.notify_url}/api/v1/notifications", params={"user_id": str(user_id)}).json()
    items = body if isinstance(body, list) else body.get("items", [])
    return [str(item.get("template")) for item in items]


def report(outcome: Outcome, error: str | None) -> None:
    table = Table(title="Billing demo")
    table.add_column("what")
    table.add_column("result")
    table.add_row("user", str(outcome.user_id))
    table.add_row(
        "payment", f"{outcome.payment.get('payment_id', '-')} {outcome.payment.get('status', '-')}"
    )
    table.add_row("subscription active", str(outcome.subscription.get("active", False)))
    table.add_row("expires_at", str(outcome.subscription.get("expires_at", "-")))
    table.add_row("notification received", ", ".join(outcome.notifications) or "no")
    table.add_row("outcome", f"[red]FAILED: {error}[/red]" if error else "[green]OK[/green]")
    console.print(table)


def main() -> int:
    settings, outcome = Settings(), Outcome()
    error = None
    try:
        with httpx.Client(timeout=15) as http:
            run(http, settings, outcome)
    except (DemoFailed, httpx.HTTPError, KeyError, ValueError) as exc:
        error = str(exc) or type(exc).__name__
    report(outcome, error)
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
