"""Staff only; support views everything and refunds nothing; finance may refund; CSRF on."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from admin_project.billing.models import Payment, Refund

pytestmark = pytest.mark.django_db


def change_url(payment: Payment) -> str:
    return reverse("admin:billing_payment_change", args=[payment.id])


def refund_url(payment: Payment) -> str:
    return reverse("admin:billing_payment_refund", args=[payment.id])


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/admin/billing/payment/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_non_staff_user_cannot_open_the_admin(make_client: Callable[..., Client]) -> None:
    response = make_client("user").get("/admin/billing/payment/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "model", ["payment", "refund", "subscriber", "plan", "paymentsystem", "deadletter"]
)
def test_support_can_view_every_list(make_client: Callable[..., Client], model: str) -> None:
    response = make_client("support").get(reverse(f"admin:billing_{model}_changelist"))
    assert response.status_code == 200


def test_support_sees_no_refund_action(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    page = make_client("support").get(change_url(payment)).content.decode()
    assert refund_url(payment) not in page
    assert "refund_detail" not in page


def test_support_forged_refund_post_is_refused_and_nothing_is_sent(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    client = make_client("support")
    assert client.get(refund_url(payment)).status_code == 403
    response = client.post(refund_url(payment), {"amount": "", "nonce": "forged-nonce-1"})
    assert response.status_code == 403
    assert not Refund.objects.filter(payment=payment).exists()


def test_support_cannot_edit_plans(make_client: Callable[..., Client]) -> None:
    url = reverse("admin:billing_plan_change", args=["monthly"])
    form = {"title": "x", "amount": "1.00", "period_days": "30"}
    assert make_client("support").post(url, form).status_code == 403


def test_finance_sees_the_refund_action(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    client = make_client("finance")
    assert "refund_detail" in client.get(change_url(payment)).content.decode()
    assert client.get(refund_url(payment)).status_code == 200


def test_refund_post_without_csrf_token_is_refused(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    client = make_client("finance", enforce_csrf=True)
    response = client.post(refund_url(payment), {"amount": "", "nonce": "no-csrf-token-1"})
    assert response.status_code == 403
    assert not Refund.objects.filter(payment=payment).exists()
