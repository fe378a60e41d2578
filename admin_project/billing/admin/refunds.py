"""Refunds: read-only; a refund is started from its payment (the refund action)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from unfold.decorators import display

from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.admin.search import uuid_search
from admin_project.billing.models import Refund, RefundStatus
from admin_project.billing.paginator import EstimatedCountPaginator

REFUND_LABELS = {
    RefundStatus.ACCEPTED: "info",
    RefundStatus.SUCCEEDED: "success",
    RefundStatus.FAILED: "danger",
}


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "payment_link",
        "user_id",
        "amount",
        "currency",
        "status_label",
        "requested_by",
        "ends_access",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "requested_by", "ends_access"]
    search_fields = ["=id"]
    search_help_text = "Exact refund_id, payment_id or user_id (UUID)"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ["-created_at", "-id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        value = uuid_search(search_term.strip())
        if not search_term.strip():
            return queryset, False
        if value is None:
            return queryset.none(), False
        return queryset.filter(id=value) | queryset.filter(payment_id=value) | queryset.filter(
            user_id=value
        ), False

    @display(description="payment")
    def payment_link(self, obj: Refund) -> str:
        url = reverse("admin:billing_payment_change", args=[obj.payment_id])
        return format_html('<a href="{}">{}</a>', url, obj.payment_id)

    @display(description="status", label=REFUND_LABELS, ordering="status")
    def status_label(self, obj: Refund) -> str:
        return obj.status
