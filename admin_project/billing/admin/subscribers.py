"""Subscribers and the payments behind each one."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.decorators import display

from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.admin.search import uuid_search
from admin_project.billing.admin.tables import admin_link, html_table
from admin_project.billing.models import Payment, Subscriber
from admin_project.billing.paginator import EstimatedCountPaginator


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = [
        "user_id",
        "subscriber_status",
        "date_subscribe",
        "expires_at",
        "plan",
        "updated_at",
    ]
    list_select_related = ["plan"]
    list_filter = ["subscriber_status", "plan"]
    search_fields = ["=user_id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ["-updated_at"]
    readonly_fields = ["payments_table"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        value = uuid_search(search_term.strip())
        return (queryset.filter(user_id=value) if value else queryset.none()), False

    @display(description="payments behind it")
    def payments_table(self, obj: Subscriber) -> str:
        payments = Payment.objects.filter(user_id=obj.user_id).select_related("plan")[:50]
        rows = [
            (
                admin_link("admin:billing_payment_change", p.id),
                p.plan.title,
                f"{p.amount} {p.currency}",
                p.status,
                f"refunded {p.refunded_amount}",
                f"{p.created_at:%Y-%m-%d %H:%M:%S}",
            )
            for p in payments
        ]
        return html_table("payments", rows) if rows else "No payments"
