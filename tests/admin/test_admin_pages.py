"""Every admin page renders, for the operator's data, and money stays read-only."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from admin_project.billing.models import (
    DeadLetter,
    Inbox,
    Outbox,
    Payment,
    Refund,
    Subscriber,
)

pytestmark = pytest.mark.django_db


def test_healthz_answers_200(client: Client) -> None:
    assert client.get("/healthz").status_code == 200


def test_metrics_answer_prometheus_text_without_login(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"python_info" in response.content


def test_dashboard_shows_kpis_and_both_charts(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    make_payment(amount=Decimal("499.00"))
    make_payment(status="pending")
    DeadLetter.objects.create(
        consumer="c", origin_topic="t", origin_partition=0, origin_offset=1, payload="{}", error="e"
    )
    response = admin_client_.get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="chart"') == 2
    assert "Monthly subscription" in html  # a dataset of the revenue-per-plan chart
    for title in [
        "Conversion pending",
        "Refund rate",
        "Active subscribers",
        "Stuck payments",
        "MRR",
        "Renewals due, 24 h",
        "Past due",
        "Churn, 30 days",
        "Renewal success",
    ]:
        assert title in html
    dlq_kpi = response.context["kpis"][-1]
    assert dlq_kpi.title == "Dead letters" and dlq_kpi.value == "1"


@pytest.mark.parametrize(
    "model",
    ["payment", "refund", "subscriber", "subscription", "plan", "paymentsystem", "deadletter"],
)
def test_every_changelist_renders(admin_client_: Client, model: str) -> None:
    response = admin_client_.get(reverse(f"admin:billing_{model}_changelist"))
    assert response.status_code == 200


def test_payment_page_shows_pretty_provider_json_refunds_and_timeline(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment(external_payment={"id": "ext-1", "status": "succeeded", "paid": True})
    refund = Refund.objects.create(
        id=uuid.uuid4(),
        payment=payment,
        user_id=payment.user_id,
        amount=Decimal("100.00"),
        currency="RUB",
        idempotency_key="k",
        request_fingerprint="f",
        requested_by="admin:x",
    )
    Inbox.objects.create(
        consumer="processor-commands",
        message_id=uuid.uuid4(),
        type="CreatePayment",
        topic="billing.commands.v1",
        partition=3,
        offset=42,
        payment_id=payment.id,
    )
    Outbox.objects.create(
        message_id=uuid.uuid4(),
        topic="billing.events.v1",
        key=str(payment.user_id),
        type="PaymentSucceeded",
        payload={},
        payment_id=payment.id,
    )
    response = admin_client_.get(reverse("admin:billing_payment_change", args=[payment.id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "&quot;paid&quot;: true" in html and "<pre" in html  # indented JSON, not one line
    assert str(refund.id) in html
    timeline = html[html.index('class="timeline') :]
    assert timeline.index("accepted") < timeline.index("CreatePayment")
    assert "billing.commands.v1[3]@42" in timeline and "PaymentSucceeded" in timeline


def test_payment_money_is_not_editable_even_for_superuser(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    url = reverse("admin:billing_payment_change", args=[payment.id])
    page = admin_client_.get(url).content.decode()
    assert 'name="amount"' not in page and 'name="refunded_amount"' not in page
    response = admin_client_.post(url, {"amount": "1.00", "refunded_amount": "0.00"})
    payment.refresh_from_db()
    assert response.status_code == 403
    assert payment.amount == Decimal("499.00")


def test_refund_and_subscriber_pages_are_read_only(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    Subscriber.objects.create(user_id=payment.user_id, subscriber_status=True, payment=payment)
    page = admin_client_.get(reverse("admin:billing_subscriber_change", args=[payment.user_id]))
    assert page.status_code == 200
    assert 'name="subscriber_status"' not in page.content.decode()
    assert str(payment.id) in page.content.decode()  # the payments behind the subscription
    assert admin_client_.get(reverse("admin:billing_refund_add")).status_code == 403


def test_plan_edit_changes_new_payments_only(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    old = make_payment()
    url = reverse("admin:billing_plan_change", args=["monthly"])
    form = {
        "title": "Monthly subscription",
        "amount": "599.00",
        "period_days": "30",
        "period_seconds": "2592000",
        "renew_before_seconds": "86400",
        "retry_seconds": "86400,259200",
        "grace_seconds": "604800",
        "active": "on",
        "receipt_description": "Кинотеатр: подписка на месяц",
        "receipt_quantity": "1",
        "receipt_vat_code": "4",
        "receipt_payment_mode": "full_prepayment",
        "receipt_payment_subject": "service",
    }
    response = admin_client_.post(url, form)
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.amount == Decimal("499.00")
    from admin_project.billing.models import Plan

    plan = Plan.objects.get(id="monthly")
    assert plan.amount == Decimal("599.00") and plan.retry_seconds == [86400, 259200]
    assert (plan.receipt_vat_code, plan.receipt_payment_mode) == (4, "full_prepayment")
    assert plan.receipt_description == "Кинотеатр: подписка на месяц"


def test_payment_and_refund_pages_show_the_receipts_sent_with_them(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    receipt = {
        "customer": {"email": "viewer@cinema.test"},
        "items": [{"description": "Monthly subscription", "vat_code": 1, "quantity": "1"}],
    }
    payment = make_payment(customer_email="viewer@cinema.test", receipt=receipt)
    refund = Refund.objects.create(
        id=uuid.uuid4(),
        payment=payment,
        user_id=payment.user_id,
        amount=Decimal("100.00"),
        currency="RUB",
        status="succeeded",
        idempotency_key="k-receipt",
        request_fingerprint="f" * 64,
        receipt={**receipt, "items": [{"amount": {"value": "100.00", "currency": "RUB"}}]},
    )
    page = admin_client_.get(reverse("admin:billing_payment_change", args=[payment.id]))
    html = page.content.decode()
    assert "Receipt (54-FZ)" in html and "viewer@cinema.test" in html
    assert "&quot;vat_code&quot;: 1" in html
    page = admin_client_.get(reverse("admin:billing_refund_change", args=[refund.id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&quot;value&quot;: &quot;100.00&quot;" in html and "viewer@cinema.test" in html


def test_the_dashboard_shows_each_currency_with_its_own_sign(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    make_payment(amount=Decimal("10.00"), currency="USD")
    make_payment(amount=Decimal("499.00"))
    revenue = admin_client_.get("/admin/").context["kpis"][0]
    assert revenue.value == "499.00 ₽ · 10.00 $"


def test_the_timeline_shows_the_gateway_request_id(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment(request_id="req-4f1c2b")
    page = admin_client_.get(reverse("admin:billing_payment_change", args=[payment.id]))
    assert "request req-4f1c2b" in page.content.decode()
