"""The admin's front page: what an operator checks every morning.

Every figure is one aggregate query over an indexed window (the last 30 days for the
charts), so the page stays fast however long the history grows.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from admin_project.billing.models import DeadLetter, Payment, PaymentStatus, Plan, Subscriber
from admin_project.billing.money import SIGNS, totals
from admin_project.billing.stuck import stuck, stuck_ages
from admin_project.billing.subscription_kpis import subscription_tiles

WINDOW_DAYS = 30
PALETTE = ["var(--color-primary-500)", "var(--color-primary-300)", "#0ea5e9", "#f59e0b", "#10b981"]
STATUS_COLORS = {
    PaymentStatus.ACCEPTED: "#94a3b8",
    PaymentStatus.PENDING: "#f59e0b",
    PaymentStatus.SUCCEEDED: "#10b981",
    PaymentStatus.CANCELED: "#64748b",
    PaymentStatus.FAILED: "#ef4444",
}


@dataclass(frozen=True)
class Kpi:
    title: str
    value: str
    footer: str
    href: str = ""


def _days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


def revenue_chart(since: date) -> dict[str, Any]:
    rows = (
        Payment.objects.filter(created_at__date__gte=since, status=PaymentStatus.SUCCEEDED)
        .annotate(day=TruncDate("created_at"))
        .values("day", "plan_id")
        .annotate(total=Sum("amount"))
    )
    totals = {(row["day"], row["plan_id"]): float(row["total"]) for row in rows}
    days = _days(since, WINDOW_DAYS)
    plans = list(Plan.objects.order_by("amount").values_list("id", "title"))
    datasets = [
        {
            "label": title,
            "data": [totals.get((day, plan_id), 0) for day in days],
            "backgroundColor": PALETTE[i % len(PALETTE)],
            "stack": "revenue",
        }
        for i, (plan_id, title) in enumerate(plans)
    ]
    return {"labels": [day.strftime("%d %b") for day in days], "datasets": datasets}


def status_chart(since: date) -> dict[str, Any]:
    counts = dict(
        Payment.objects.filter(created_at__date__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    statuses = list(PaymentStatus)
    return {
        "labels": [str(status) for status in statuses],
        "datasets": [
            {
                "label": "payments",
                "data": [counts.get(status, 0) for status in statuses],
                "backgroundColor": [STATUS_COLORS[status] for status in statuses],
            }
        ],
    }


def _percent(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _sums_by_currency(window: Any) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Revenue and refunded amounts of the window, each per currency."""
    rows = window.values("currency").annotate(
        revenue=Sum("amount", filter=Q(status=PaymentStatus.SUCCEEDED)),
        refunded=Sum("refunded_amount"),
    )
    revenue = {r["currency"].strip(): r["revenue"] or Decimal(0) for r in rows}
    refunded = {r["currency"].strip(): r["refunded"] or Decimal(0) for r in rows}
    return revenue, refunded


def _refund_rate(revenue: dict[str, Decimal], refunded: dict[str, Decimal]) -> str:
    rates = {code: _percent(refunded.get(code, Decimal(0)), revenue[code]) for code in revenue}
    if len(rates) == 1:
        return next(iter(rates.values()))
    return " · ".join(f"{rate} ({SIGNS.get(code, code)})" for code, rate in sorted(rates.items()))


def kpis(since: date) -> list[Kpi]:
    window = Payment.objects.filter(created_at__date__gte=since)
    agg = window.aggregate(
        reached=Count("id", filter=~Q(status=PaymentStatus.ACCEPTED)),
        paid=Count("id", filter=Q(status=PaymentStatus.SUCCEEDED)),
        with_refund=Count("id", filter=Q(refunded_amount__gt=0)),
    )
    revenue, refunded = _sums_by_currency(window)
    net = {code: amount - refunded.get(code, Decimal(0)) for code, amount in revenue.items()}
    stuck_now = stuck(Payment.objects.all()).count()
    active = Subscriber.objects.filter(subscriber_status=True).count()
    dlq = DeadLetter.objects.filter(reinjected_at__isnull=True).count()
    payments_url = reverse("admin:billing_payment_changelist")
    return [
        Kpi("Revenue, 30 days", totals(revenue), f"net of refunds {totals(net)}"),
        Kpi(
            "Conversion pending → succeeded",
            _percent(agg["paid"], agg["reached"]),
            f"{agg['paid']} of {agg['reached']} payments that reached the provider",
        ),
        Kpi(
            "Refund rate",
            _refund_rate(revenue, refunded),
            f"{agg['with_refund']} payments with a refund, {totals(refunded)}",
            f"{payments_url}?refund=any",
        ),
        Kpi(
            "Active subscribers",
            str(active),
            "subscriber_status = true",
            reverse("admin:billing_subscriber_changelist") + "?subscriber_status__exact=1",
        ),
        Kpi(
            "Stuck payments",
            str(stuck_now),
            stuck_ages(),
            f"{payments_url}?stuck=1",
        ),
        *(Kpi(*tile) for tile in subscription_tiles(timezone.now())),
        Kpi(
            "Dead letters",
            str(dlq),
            "not re-injected yet",
            reverse("admin:billing_deadletter_changelist") + "?reinjected=no",
        ),
    ]


CHART_OPTIONS = {
    "animation": False,
    "responsive": True,
    "maintainAspectRatio": False,
    "datasets": {"bar": {"maxBarThickness": 28, "borderRadius": 4}},
    "plugins": {"legend": {"display": True, "position": "bottom"}},
    "scales": {"x": {"stacked": True, "grid": {}}, "y": {"stacked": True, "grid": {}}},
}


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    since = timezone.now().date() - timedelta(days=WINDOW_DAYS - 1)
    context.update(
        kpis=kpis(since),
        revenue_chart=json.dumps(revenue_chart(since)),
        status_chart=json.dumps(status_chart(since)),
        chart_options=json.dumps(CHART_OPTIONS),
    )
    return context


def environment_callback(request: HttpRequest) -> list[str]:
    env = settings.BILLING_SETTINGS
    return [env.billing_env or "production", "danger" if env.is_production else "info"]
