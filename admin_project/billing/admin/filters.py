"""Payment list filters that keep to the indexes (status, plan, system, created_at, refunds)."""

from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.utils import parse_date_str as parse_date

from admin_project.billing.stuck import stuck


class RefundListFilter(admin.SimpleListFilter):
    title = "refunded"
    parameter_name = "refund"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("any", "Any refund"),
            ("full", "Fully refunded"),
            ("partial", "Partially refunded"),
            ("none", "Not refunded"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        match self.value():
            case "any":
                return queryset.filter(refunded_amount__gt=0)
            case "full":
                return queryset.filter(refunded_amount__gt=0, refunded=True)
            case "partial":
                return queryset.filter(refunded_amount__gt=0, refunded=False)
            case "none":
                return queryset.filter(refunded_amount=0)
        return queryset


class StuckListFilter(admin.SimpleListFilter):
    """Rows the pipeline should have moved on by now (`stuck`): the dashboard tile's list."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("1", "Really stuck (the reconciler's rule)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return stuck(queryset) if self.value() == "1" else queryset


class CreatedRangeFilter(RangeDateFilter):
    """Whole days, both ends included: `to` means before the next midnight (index-friendly)."""

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        start = parse_date(str(self.used_parameters.get(f"{self.parameter_name}_from") or ""))
        end = parse_date(str(self.used_parameters.get(f"{self.parameter_name}_to") or ""))
        if start:
            queryset = queryset.filter(**{f"{self.parameter_name}__gte": _midnight(start)})
        if end:
            after = _midnight(end + timedelta(days=1))
            queryset = queryset.filter(**{f"{self.parameter_name}__lt": after})
        return queryset


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
