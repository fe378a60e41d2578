import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas import decode, encode, ids
from schemas.messages import ChangeSubscription, ExpireSubscription, RenewSubscription

SUB, USER = uuid.uuid4(), uuid.uuid4()


def test_a_renewal_attempt_has_one_id_whoever_builds_it() -> None:
    first = RenewSubscription(subscription_id=SUB, user_id=USER, period_number=3, attempt=1)
    again = RenewSubscription(subscription_id=SUB, user_id=USER, period_number=3, attempt=1)
    assert first.message_id == again.message_id
    assert decode(encode(first)) == first
    other = RenewSubscription(subscription_id=SUB, user_id=USER, period_number=3, attempt=2)
    assert other.message_id != first.message_id


def test_a_renewal_with_another_id_is_refused_where_it_is_built() -> None:
    with pytest.raises(ValueError):
        RenewSubscription(
            message_id=uuid.uuid4(), subscription_id=SUB, user_id=USER, period_number=1, attempt=0
        )


def test_an_expiry_id_does_not_depend_on_the_time_zone_it_was_written_in() -> None:
    due = datetime(2026, 1, 1, 12, tzinfo=UTC)
    moscow = due.astimezone(timezone(timedelta(hours=3)))
    utc = ExpireSubscription(subscription_id=SUB, user_id=USER, due_at=due)
    local = ExpireSubscription(subscription_id=SUB, user_id=USER, due_at=moscow)
    assert utc.message_id == local.message_id
    assert decode(encode(local)).message_id == utc.message_id


def test_a_change_is_keyed_by_its_request() -> None:
    cancel = ChangeSubscription(
        subscription_id=SUB, user_id=USER, action="cancel", request_id="user:key-1"
    )
    assert cancel.message_id == ids.message_id("ChangeSubscription", SUB, "user:key-1")


def test_renewal_payment_ids_differ_per_period_and_attempt() -> None:
    seen = {ids.renewal_payment_id(SUB, p, a) for p in (1, 2) for a in (0, 1)}
    assert len(seen) == 4
    assert ids.subscription_id(USER) == ids.subscription_id(USER)
