"""The payments the dashboard's "Stuck payments" tile counts and its `?stuck=1` list shows."""

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from domain.durations import format_seconds
from domain.stuck import AGE_COLUMN, StuckRule


def stuck_ages() -> str:
    """The rule in words for the tile: `accepted for over 30s; pending for over 2h`."""
    ages = StuckRule.of(settings.BILLING_SETTINGS).ages()
    words = (
        f"{status} for over {format_seconds(int(age.total_seconds()))}"
        for status, age in ages.items()
    )
    return "; ".join(words)


def stuck(queryset: QuerySet) -> QuerySet:
    """Payments that are really stuck by `domain.stuck.StuckRule`, the reconciler's gauge rule:
    not a user who simply has not paid yet on the payment page."""
    cutoffs = StuckRule.of(settings.BILLING_SETTINGS).cutoffs(timezone.now())
    match = Q(pk__in=[])
    for status, before in cutoffs.items():
        match |= Q(status=status, **{f"{AGE_COLUMN}__lt": before})
    return queryset.filter(match)
