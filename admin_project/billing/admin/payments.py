"""Payments: the list operators search every morning, the read-only detail with its refunds and
timeline, and the actions that go through the pipeline (refund, re-check, CSV export)."""

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.contrib.filters.admin import RelatedDropdownFilter
from unfold.decorators import action, display

from admin_project.billing import audit, export, pipeline
from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.admin.filters import (
    CreatedRangeFilter,
    RefundListFilter,
    StuckListFilter,
)
from admin_project.billing.admin.forms import RefundForm
from admin_project.billing.admin.search import SEARCH_HELP, key_prefix_search, uuid_search
from admin_project.billing.admin.tables import admin_link, html_table
from admin_project.billing.errors import PipelineUnavailable, RefundRefused
from admin_project.billing.models import Payment, PaymentStatus
from admin_project.billing.paginator import EstimatedCountPaginator
from admin_project.billing.timeline import payment_timeline

STATUS_LABELS = {
    PaymentStatus.ACCEPTED: "info",
    PaymentStatus.PENDING: "warning",
    PaymentStatus.SUCCEEDED: "success",
    PaymentStatus.CANCELED: "default",
    PaymentStatus.FAILED: "danger",
}
REFUND_PERMISSION = "billing.refund_payment"
RECHECK_PERMISSION = "billing.recheck_payment"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user_id",
        "plan_title",
        "amount",
        "currency",
        "status_label",
        "refunded_amount",
        "provider",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["plan", "system"]
    list_filter = [
        "status",
        RefundListFilter,
        ("plan", RelatedDropdownFilter),
        ("system", RelatedDropdownFilter),
        ("created_at", CreatedRangeFilter),
        StuckListFilter,
    ]
    list_filter_submit = True
    search_fields = ["=id"]
    search_help_text = "Exact payment_id, user_id or external_id (UUID), or a key prefix"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    ordering = ["-created_at", "-id"]
    list_before_template = "billing/payment_list_before.html"
    actions = ["recheck_selected"]
    actions_detail = ["refund_detail", "recheck_detail"]
    fieldsets = [
        (
            "Payment",
            {
                "fields": [
                    "id",
                    "user_id",
                    "plan",
                    "status",
                    "failure_reason",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("Money", {"fields": ["amount", "currency", "refunded_amount", "refunded"]}),
        (
            "Provider",
            {
                "fields": [
                    "system",
                    "external_id",
                    "confirmation_url",
                    "return_url",
                    "external_payment_pretty",
                ]
            },
        ),
        (
            "Pipeline",
            {
                "fields": [
                    "idempotency_key",
                    "request_fingerprint",
                    "check_attempts",
                    "next_check_at",
                ]
            },
        ),
        ("Refunds", {"fields": ["refunds_table"]}),
        ("Timeline", {"fields": ["timeline_table"]}),
    ]
    extra_readonly = ["external_payment_pretty", "refunds_table", "timeline_table"]

    def get_readonly_fields(self, request: HttpRequest, obj: Payment | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), *self.extra_readonly]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Each match served by an index: pk, user_created, external_id (unique) for a UUID;
        payments_idempotency_prefix (varchar_pattern_ops) for an Idempotency-Key prefix."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = key_prefix_search(term)
        value = uuid_search(term)
        if value is not None:
            match |= Q(id=value) | Q(user_id=value) | Q(external_id=value)
        elif not match:
            messages.warning(request, SEARCH_HELP)
            return queryset.none(), False
        return queryset.filter(match), False

    # --- columns and detail fields ---------------------------------------------------

    @display(description="plan", ordering="plan__amount")
    def plan_title(self, obj: Payment) -> str:
        return obj.plan.title

    @display(description="provider")
    def provider(self, obj: Payment) -> str:
        return obj.system.title if obj.system else "—"

    @display(description="status", label=STATUS_LABELS, ordering="status")
    def status_label(self, obj: Payment) -> str:
        return obj.status

    @display(description="external payment (as last read from the provider)")
    def external_payment_pretty(self, obj: Payment) -> str:
        if obj.external_payment is None:
            return "—"
        text = json.dumps(obj.external_payment, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="whitespace-pre-wrap text-xs">{}</pre>', text)

    @display(description="refunds")
    def refunds_table(self, obj: Payment) -> str:
        refunds = list(obj.refunds.order_by("created_at"))
        if not refunds:
            return "No refunds"
        return html_table(
            "refunds",
            [
                (
                    admin_link("admin:billing_refund_change", refund.id),
                    f"{refund.amount} {refund.currency}",
                    refund.status,
                    refund.requested_by,
                    "ends access" if refund.ends_access else "keeps access (goodwill)",
                    f"{refund.created_at:%Y-%m-%d %H:%M:%S}",
                )
                for refund in refunds
            ],
        )

    @display(description="timeline")
    def timeline_table(self, obj: Payment) -> str:
        rows = [
            (f"{step.at:%Y-%m-%d %H:%M:%S.%f}"[:-3], step.kind, step.what, step.detail)
            for step in payment_timeline(obj)
        ]
        return html_table("timeline", rows)

    # --- permissions -----------------------------------------------------------------

    def has_refund_payment_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    def has_recheck_payment_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.has_perm(RECHECK_PERMISSION)

    # --- actions ---------------------------------------------------------------------

    @action(description="Refund", permissions=["refund_payment"], icon="undo")
    def refund_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:billing_payment_refund", args=[object_id]))

    @action(description="Re-check with provider", permissions=["recheck_payment"], icon="sync")
    def recheck_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """It changes state, so the link only shows a form: the re-check is its POST (CSRF)."""
        payment = get_object_or_404(Payment, pk=object_id)
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "title": f"Re-check payment {payment.id}",
                "opts": self.model._meta,
                "payment": payment,
            }
            return render(request, "billing/recheck_confirm.html", context)
        self._recheck(request, Payment.objects.filter(pk=payment.pk))
        return HttpResponseRedirect(reverse("admin:billing_payment_change", args=[object_id]))

    @admin.action(description="Re-check selected with provider", permissions=["recheck_payment"])
    def recheck_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._recheck(request, queryset)

    def _recheck(self, request: HttpRequest, queryset: QuerySet) -> None:
        payments = list(queryset.only("id", "user_id", "amount", "currency", "status")[:1000])
        count = pipeline.request_recheck([payment.id for payment in payments])
        for payment in payments:
            audit.record(request.user.pk, payment, "Re-check with provider requested")
        messages.success(request, f"{count} payment(s) queued for the reconciler to re-read.")

    # --- extra views -----------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<path:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_payment_refund",
            ),
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name="billing_payment_export",
            ),
        ]
        return own + super().get_urls()

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_refund_payment_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("plan"), pk=object_id)
        form = RefundForm(request.POST) if request.method == "POST" else RefundForm.fresh()
        if request.method == "POST" and form.is_valid():
            done = self._refund(request, payment, form)
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund payment {payment.id}",
            "opts": self.model._meta,
            "payment": payment,
            "left": pipeline.refundable_left(payment),
            "form": form,
        }
        return render(request, "billing/refund_form.html", context)

    def _refund(
        self, request: HttpRequest, payment: Payment, form: RefundForm
    ) -> HttpResponse | None:
        ask = pipeline.RefundRequest(
            payment.id,
            form.cleaned_data["amount"],
            form.cleaned_data["nonce"],
            request.user.get_username(),
            ends_access=form.ends_access,
        )
        try:
            refund = pipeline.request_refund(ask)
        except RefundRefused as exc:
            form.add_error(None, str(exc))
            return None
        except PipelineUnavailable as exc:
            messages.warning(request, str(exc))
        else:
            messages.success(
                request,
                f"Refund {refund.id} of {refund.amount} {refund.currency} sent."
                f" Access: {ask.access_label}.",
            )
        audit.record(
            request.user.pk,
            payment,
            f"Refund requested: {ask.amount or 'all left'}, {ask.access_label}"
            f" (key {ask.idempotency_key})",
        )
        return HttpResponseRedirect(reverse("admin:billing_payment_change", args=[payment.pk]))

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        audit.record(request.user.pk, Payment, f"CSV export: {request.GET.urlencode() or 'all'}")
        return export.csv_response(changelist.queryset)
