"""What is sold and through whom: plans and payment systems (editable, never deleted)."""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from unfold.admin import ModelAdmin

from admin_project.billing.models import PaymentSystem, Plan


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
        # The 54-FZ receipt line of the plan's payments, renewals and refunds.
        "receipt_description",
        "receipt_quantity",
        "receipt_vat_code",
        "receipt_payment_mode",
        "receipt_payment_subject",
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
