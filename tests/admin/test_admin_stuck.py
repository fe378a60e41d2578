"""The dashboard's "Stuck payments" tile and its `?stuck=1` list count what is really stuck by
the reconciler's rule (`domain.stuck`), not users who simply have not paid yet."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from admin_project.billing.models import Payment
from domain.stuck import StuckRule

pytestmark = pytest.mark.django_db


def _tile(client: Client) -> int:
    [tile] = [k for k in client.get("/admin/").context["kpis"] if k.title == "Stuck payments"]
    return int(tile.value)


def _aged(make_payment: Callable[..., Payment], status: str, age: timedelta) -> Payment:
    at = timezone.now() - age
    return make_payment(status=status, created_at=at, updated_at=at)


def test_the_tile_and_its_list_count_only_really_stuck_payments(
    admin_client_: Client, make_payment: Callable[..., Payment]
) -> None:
    rule = StuckRule.of(settings.BILLING_SETTINGS)
    accepted_age, pending_age = rule.ages().values()
    before = _tile(admin_client_)
    stuck = [
        _aged(make_payment, "accepted", accepted_age + timedelta(minutes=1)),
        _aged(make_payment, "pending", pending_age + timedelta(minutes=1)),
    ]
    not_stuck = [
        _aged(make_payment, "accepted", timedelta(seconds=1)),
        _aged(make_payment, "pending", timedelta(minutes=10)),  # still on the payment page
        _aged(make_payment, "pending", pending_age - timedelta(minutes=1)),
        _aged(make_payment, "succeeded", timedelta(days=2)),
    ]
    assert _tile(admin_client_) == before + len(stuck)
    page = admin_client_.get(reverse("admin:billing_payment_changelist"), {"stuck": "1"})
    shown = {row.id for row in page.context["cl"].result_list}
    assert {p.id for p in stuck} <= shown and not shown & {p.id for p in not_stuck}
    now = timezone.now()
    assert [rule.is_stuck(p.status, p.created_at, now) for p in stuck + not_stuck] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
