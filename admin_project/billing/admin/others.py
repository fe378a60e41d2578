"""Refunds, subscribers, plans, payment systems and the dead-letter queue."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from admin_project.billing import audit, pipeline
from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.admin.search import uuid_search
from admin_project.billing.admin.tables import admin_link, html_table
from admin_project.billing.models import (
    DeadLetter,
    Payment,
    PaymentSystem,
    Plan,
    Refund,
    Subscriber,
)
from admin_project.billing.paginator import EstimatedCountPaginator

REFUND_LABELS = {"accepted": "info", "succeeded": "success", "failed": "danger"}


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
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "requested_by"]
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


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    """Plans are edited here; payments copy the amount when accepted, so edits apply to new
    payments only. Plans are never deleted: payments refer to them (deactivate instead)."""

    list_display = [
        "id",
        "title",
        "amount",
        "currency",
        "period_days",
        "period_seconds",
        "active",
        "updated_at",
    ]
    list_editable = ["active"]
    # The schedule of CONTRACT §2a in seconds (`billing plans set` takes 60s/20m/1h/30d).
    fields = [
        "id",
        "title",
        "amount",
        "currency",
        "period_days",
        "period_seconds",
        "renew_before_seconds",
        "retry_seconds",
        "grace_seconds",
        "active",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return ["id", "currency"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(PaymentSystem)
class PaymentSystemAdmin(ModelAdmin):
    list_display = ["code", "title", "active", "id"]
    fields = ["id", "code", "title", "active"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return ["id", "code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReinjectedFilter(admin.SimpleListFilter):
    title = "re-injected"
    parameter_name = "reinjected"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "Waiting"), ("yes", "Re-injected")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("no", "yes"):
            return queryset.filter(reinjected_at__isnull=self.value() == "no")
        return queryset


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "consumer",
        "origin",
        "short_error",
        "created_at",
        "reinjected_at",
        "reinjected_by",
    ]
    list_filter = [ReinjectedFilter, "consumer", "origin_topic"]
    ordering = ["-created_at", "-id"]
    actions = ["reinject_selected"]

    @display(description="origin")
    def origin(self, obj: DeadLetter) -> str:
        return f"{obj.origin_topic}[{obj.origin_partition}]@{obj.origin_offset}"

    @display(description="error")
    def short_error(self, obj: DeadLetter) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:117] + "..."

    def has_reinject_deadletter_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.has_perm("billing.reinject_deadletter")

    @admin.action(
        description="Re-inject selected into their original topic",
        permissions=["reinject_deadletter"],
    )
    def reinject_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        letters = list(queryset[:500])
        try:
            count = pipeline.reinject(letters, request.user.get_username())
        except Exception as exc:
            messages.error(request, f"Kafka did not ack the re-injection: {exc!r}")
            return
        for letter in letters:
            audit.record(request.user.pk, letter, "Re-injected into its origin topic")
        skipped = len(letters) - count
        messages.success(request, f"{count} re-injected, {skipped} already re-injected before.")
