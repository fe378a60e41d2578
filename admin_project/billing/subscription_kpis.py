"""The dashboard's subscription tiles: MRR, renewals due, past due, churn, renewal success.

Each is one aggregate query; MRR counts what the live, renewing subscriptions will bring in
a 30-day month at their plan's price (a plan of another period scaled to 30 days).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, Q, Sum
from django.db.models import DecimalField as DecimalOut
from django.urls import reverse

from admin_project.billing.models import Payment, Subscription, SubscriptionDue
from domain import payments, subscriptions
from domain.payments import PaymentStatus
from domain.subscriptions import SubscriptionStatus

MONTH_S = 30 * 86400
LIVE = sorted(subscriptions.LIVE)
ENDED = [SubscriptionStatus.EXPIRED, SubscriptionStatus.CANCELED]
Tile = tuple[str, str, str, str]  # title, value, footer, link


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def mrr() -> Decimal:
    monthly = ExpressionWrapper(
        F("plan__amount") * MONTH_S / F("plan__period_seconds"),
        output_field=DecimalOut(max_digits=14, decimal_places=2),
    )
    renewing = Subscription.objects.filter(
        status__in=LIVE, auto_renew=True, cancel_at_period_end=False
    ).exclude(payment_method_id=None)
    total = renewing.aggregate(total=Sum(monthly))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


def subscription_tiles(now: datetime) -> list[Tile]:
    since = now - timedelta(days=30)
    due = SubscriptionDue.objects.filter(
        kind="renew", done_at=None, due_at__lt=now + timedelta(days=1)
    ).count()
    counts = Subscription.objects.aggregate(
        past_due=Count("id", filter=Q(status=SubscriptionStatus.PAST_DUE)),
        live=Count("id", filter=Q(status__in=LIVE)),
        churned=Count("id", filter=Q(status__in=ENDED, updated_at__gte=since)),
    )
    renewals = Payment.objects.filter(subscription_id__isnull=False, created_at__gte=since)
    tries = renewals.aggregate(
        final=Count("id", filter=Q(status__in=sorted(payments.FINAL))),
        ok=Count("id", filter=Q(status=PaymentStatus.SUCCEEDED)),
    )
    subs_url = reverse("admin:billing_subscription_changelist")
    churn_base = counts["live"] + counts["churned"]
    return [
        ("MRR", f"{mrr():,.2f} ₽", "live auto-renewing subscriptions, per 30 days", subs_url),
        ("Renewals due, 24 h", str(due), "saved cards to charge by this time tomorrow", ""),
        (
            "Past due",
            str(counts["past_due"]),
            "in dunning, access kept",
            f"{subs_url}?status__exact=past_due",
        ),
        (
            "Churn, 30 days",
            _percent(counts["churned"], churn_base),
            f"{counts['churned']} ended",
            "",
        ),
        (
            "Renewal success",
            _percent(tries["ok"], tries["final"]),
            f"{tries['ok']} of {tries['final']} renewal charges, 30 days",
            "",
        ),
    ]
