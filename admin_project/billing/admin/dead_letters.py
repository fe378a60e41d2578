"""The dead-letter queue: what consumers gave up on, and re-injecting it."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.decorators import display

from admin_project.billing import audit, pipeline
from admin_project.billing.admin.base import ReadOnlyAdmin
from admin_project.billing.models import DeadLetter


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
