"""The payments list: filters, exact-id search, newest first, bounded queries, CSV export."""

import csv
import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from admin_project.billing.models import Payment, PaymentSystem

pytestmark = pytest.mark.django_db
LIST = "/admin/billing/payment/"


def shown(response) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    return {payment.id for payment in response.context["cl"].result_list}


def test_list_is_newest_first(admin_client_: Client, make_payment: Callable[..., Payment]) -> None:
    now = timezone.now()
    older = make_payment(created_at=now - timedelta(hours=2))
    newer = make_payment(created_at=now - timedelta(hours=1))
    ids = [p.id for p in admin_client_.get(LIST).context["cl"].result_list]
    assert ids.index(newer.id) < ids.index(older.id)


def test_status_filter_keeps_only_that_status(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    failed, succeeded = make_payment(status="failed"), make_payment()
    found = shown(admin_client_.get(LIST, {"status__exact": "failed"}))
    assert failed.id in found and succeeded.id not in found


@pytest.mark.parametrize(
    ("value", "expect"),
    [("full", {"full"}), ("partial", {"partial"}), ("any", {"full", "partial"}), ("none", {"no"})],
)
def test_refund_filter(
    admin_client_: Client, make_payment: Callable[..., Payment], value: str, expect: set[str]
) -> None:
    rows = {
        "full": make_payment(refunded_amount=Decimal("499.00"), refunded=True),
        "partial": make_payment(refunded_amount=Decimal("100.00")),
        "no": make_payment(),
    }
    found = shown(admin_client_.get(LIST, {"refund": value}))
    assert {name for name, p in rows.items() if p.id in found} == expect


def test_plan_and_provider_filters(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    other = PaymentSystem.objects.create(
        id=uuid.uuid4(), code=f"c{uuid.uuid4().hex[:6]}", title="T"
    )
    yearly, monthly = make_payment(plan_id="yearly", system=other), make_payment()
    by_plan = shown(admin_client_.get(LIST, {"plan__id__exact": "yearly"}))
    by_system = shown(admin_client_.get(LIST, {"system__id__exact": str(other.id)}))
    assert yearly.id in by_plan and monthly.id not in by_plan
    assert by_system == {yearly.id}


def test_date_range_includes_both_end_days(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    day = timezone.now().replace(hour=12) - timedelta(days=40)
    inside = make_payment(created_at=day.replace(hour=23, minute=30))
    outside = make_payment(created_at=day + timedelta(days=1, hours=1))
    params = {"created_at_from": f"{day:%Y-%m-%d}", "created_at_to": f"{day:%Y-%m-%d}"}
    found = shown(admin_client_.get(LIST, params))
    assert inside.id in found and outside.id not in found


@pytest.mark.parametrize("field", ["id", "user_id", "external_id"])
def test_search_by_exact_id(
    admin_client_: Client, make_payment: Callable[..., Payment], field: str
) -> None:
    target, other = make_payment(), make_payment()
    found = shown(admin_client_.get(LIST, {"q": str(getattr(target, field))}))
    assert found == {target.id} and other.id not in found


def test_search_with_a_term_too_short_for_a_key_prefix_finds_nothing(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    make_payment()
    assert shown(admin_client_.get(LIST, {"q": "te"})) == set()


def test_search_by_idempotency_key_prefix(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    stem = f"checkout-{uuid.uuid4().hex[:12]}"
    first = make_payment(idempotency_key=f"{stem}-1")
    second = make_payment(idempotency_key=f"{stem}-2")
    other = make_payment()
    found = shown(admin_client_.get(LIST, {"q": stem}))
    assert found == {first.id, second.id} and other.id not in found
    assert shown(admin_client_.get(LIST, {"q": f"{stem}-2"})) == {second.id}


def test_stuck_filter_shows_old_accepted_and_pending_only(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    old = timezone.now() - timedelta(hours=3)  # past the provider's expiry and a re-check
    stuck = make_payment(status="pending", created_at=old, updated_at=old)
    fresh = make_payment(status="pending")
    done = make_payment(created_at=old, updated_at=old)
    found = shown(admin_client_.get(LIST, {"stuck": "1"}))
    assert stuck.id in found and fresh.id not in found and done.id not in found


def test_list_query_count_does_not_grow_with_rows(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client_.get(LIST).status_code == 200
        return len(captured)

    make_payment()
    few = queries()
    for _ in range(20):
        make_payment(plan_id="yearly")
    assert queries() == few


def test_csv_export_follows_the_list_filters(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    failed, succeeded = make_payment(status="failed"), make_payment()
    response = admin_client_.get(
        reverse("admin:billing_payment_export"), {"status__exact": "failed"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    exported = {row["payment_id"] for row in rows}
    assert str(failed.id) in exported and str(succeeded.id) not in exported
    assert {row["status"] for row in rows} == {"failed"}
    assert rows[0]["amount"] == "499.00"
