"""Subscriptions: status, period, saved card, dunning and the history of periods; cancel,
resume and extend (a comp) go through the pipeline and into the audit log."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.decorators import display
from unfold.forms import ActionForm

from admin_project.billing import audit
from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.admin.tables import admin_link, html_table
from admin_project.billing.models import Subscription
from admin_project.billing.subscription_actions import request_change

MANAGE_PERMISSION = "billing.manage_subscription"


def _refund_link(payment_id: object) -> SafeString:
    url = reverse("admin:billing_payment_refund", args=[payment_id])
    return format_html('<a class="text-primary-600" href="{}">refund…</a>', url)


class ExtendForm(ActionForm):
    """The changelist's action bar, with the number of days an extension gives."""

    days = forms.IntegerField(min_value=1, max_value=3650, required=False, initial=7)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "user_id",
        "plan",
        "status",
        "current_period_end",
        "auto_renew",
        "cancel_at_period_end",
        "card",
        "dunning_attempt",
    ]
    list_filter = ["status", "plan", "auto_renew", "cancel_at_period_end"]
    search_fields = ["user_id"]
    ordering = ["-updated_at"]
    readonly_fields = ["history_table"]
    action_form = ExtendForm
    actions = ["cancel_selected", "resume_selected", "extend_selected"]

    @display(description="card")
    def card(self, obj: Subscription) -> str:
        return f"•••• {obj.card_last4} ({obj.card_expiry})" if obj.payment_method_id else "—"

    @display(description="periods")
    def history_table(self, obj: Subscription) -> str:
        """Each period with its payment; a paid one links to that payment's refund page, where
        finance chooses the amount and whether the refund ends access (goodwill or not)."""
        rows = obj.history.order_by("number").values_list(
            "number", "kind", "starts_at", "ends_at", "payment_id", "ended_early_at"
        )
        return html_table(
            "periods",
            [
                (
                    f"#{number}",
                    kind,
                    f"{starts:%Y-%m-%d %H:%M:%S} → {ends:%Y-%m-%d %H:%M:%S}",
                    admin_link("admin:billing_payment_change", payment) if payment else "comp",
                    _refund_link(payment) if payment else "",
                    f"ended early {ended:%Y-%m-%d %H:%M:%S}" if ended else "",
                )
                for number, kind, starts, ends, payment, ended in rows
            ],
        )

    def has_manage_subscription_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.has_perm(MANAGE_PERMISSION)

    @admin.action(description="Cancel at period end", permissions=["manage_subscription"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change(request, queryset, "cancel")

    @admin.action(description="Resume", permissions=["manage_subscription"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change(request, queryset, "resume")

    @admin.action(description="Extend by N days (comp)", permissions=["manage_subscription"])
    def extend_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        days = int(request.POST.get("days") or 0)
        if days <= 0:
            messages.error(request, "Give the number of days to extend by.")
            return
        self._change(request, queryset, "extend", days)

    def _change(self, request: HttpRequest, queryset: QuerySet, action: str, days: int = 0) -> None:
        subs = list(queryset[:500])
        request_change(subs, action, request.user.get_username(), days)
        for sub in subs:
            detail = f" by {days} days" if days else ""
            audit.record(request.user.pk, sub, f"Subscription {action}{detail} requested")
        messages.success(request, f"{action} sent for {len(subs)} subscription(s).")
