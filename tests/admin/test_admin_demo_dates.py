"""Demo data is never dated in the future: not at 00:30 when the daily rhythm favours the
evening, and not for refunds, which come days after their payment."""

import random
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from admin_project.billing import demo


def test_creation_times_never_pass_the_given_now_whatever_the_hour() -> None:
    just_after_midnight = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
    moments = list(demo._moments(random.Random(1), 5000, just_after_midnight))
    assert max(moments) <= just_after_midnight


@pytest.mark.django_db
def test_no_demo_row_is_dated_after_now() -> None:
    batch = demo.build(3000)
    now = timezone.now()
    stamps = [
        *(p.created_at for p in batch.payments),
        *(p.updated_at for p in batch.payments),
        *(r.created_at for r in batch.refunds),
        *(r.updated_at for r in batch.refunds),
        *(o.created_at for o in batch.outbox),
        *(o.published_at for o in batch.outbox),
        *(i.processed_at for i in batch.inbox),
    ]
    assert batch.refunds, "the demo has refunds to check"
    assert max(stamps) <= now
    assert all(s.date_subscribe <= now.date() for s in batch.subscribers.values())
