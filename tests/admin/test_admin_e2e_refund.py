"""A refund from the admin of the running stack reaches the provider exactly once and revokes
the subscription, like one from the API (CONTRACT §7)."""

import re

import httpx
import pytest
from admin_stack import (
    paid_payment,
    payment_row,
    provider_refunds_of,
    stack_or_skip,
    subscription_active,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
    response = client.post("/admin/login/?next=/admin/", data=form)
    assert response.status_code == 302, "admin login failed (ADMIN_USERNAME/ADMIN_PASSWORD?)"


def _refund(client: httpx.Client, payment_id: str) -> None:
    url = f"/admin/billing/payment/{payment_id}/refund/"
    page = client.get(url)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(csrfmiddlewaretoken|nonce)" value="([^"]+)"', page.text))
    for _ in range(2):  # a double submit of the same form must refund once
        response = client.post(
            url, data={**fields, "amount": ""}, headers={"Referer": str(page.url)}
        )
        assert response.status_code == 302, response.text[:500]


def test_admin_refund_reaches_provider_once_and_revokes_subscription() -> None:
    stack = stack_or_skip()
    payment_id, _, token = paid_payment(stack)
    wait_for("subscription activated", lambda: subscription_active(stack, token))
    with httpx.Client(base_url=stack.admin, timeout=30) as client:
        _login(client, stack.username, stack.password)
        _refund(client, payment_id)
    wait_for("payment refunded", lambda: (payment_row(stack, payment_id) or {}).get("refunded"))
    external_id = payment_row(stack, payment_id)["external_id"]  # type: ignore[index]
    assert len(provider_refunds_of(stack, external_id)) == 1
    wait_for("subscription revoked", lambda: not subscription_active(stack, token))
