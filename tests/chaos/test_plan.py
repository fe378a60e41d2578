"""The workload plan and the kill schedule are pure functions of the seed."""

import uuid

from tests.chaos.killer import HEAVY, make_schedule
from tests.chaos.plan import DECLINED_CARD, GOOD_CARD, RefundKind, make_plan, refund_count

KINDS = ["gateway", "kafka", "postgres", "processor-commands", "provider", "reconciler"]


def test_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert make_plan(7, 50, 60) == make_plan(7, 50, 60)
    assert make_plan(7, 50, 60) != make_plan(8, 50, 60)


def test_plan_mixes_cards_and_every_refund_kind() -> None:
    plan = make_plan(1, 2000, 600)

    cards = {u.card for u in plan}
    kinds = {u.refund_kind for u in plan}
    assert cards == {GOOD_CARD, DECLINED_CARD}
    assert kinds == set(RefundKind)
    assert all(u.refund_kind is RefundKind.NONE for u in plan if u.card == DECLINED_CARD)
    assert any(u.resend_after_success for u in plan)


def test_default_long_run_asks_for_at_least_a_thousand_refunds() -> None:
    assert refund_count(make_plan(1, 5000, 600)) >= 1000


def test_every_key_and_user_is_unique() -> None:
    plan = make_plan(3, 1000, 60)
    keys = [u.payment_key for u in plan] + [s.key for u in plan for s in u.refunds]

    assert len({u.user_id for u in plan}) == len(plan)
    assert len(set(keys)) == len(keys)


def test_partial_twice_never_asks_for_more_than_the_price() -> None:
    plan = make_plan(5, 3000, 60)
    for user in plan:
        if user.refund_kind is RefundKind.PARTIAL_TWICE:
            assert sum(s.fraction or 0 for s in user.refunds) <= 1.0


def test_schedule_kills_every_kind_and_kafka_and_postgres_apart() -> None:
    schedule = make_schedule(11, KINDS, kills=30, duration=300, every_kind=True)

    assert len(schedule) == 30
    assert set(KINDS) <= {k.kind for k in schedule}
    heavy_times = sorted(k.at for k in schedule if k.kind in HEAVY)
    assert all(b - a >= 30 for a, b in zip(heavy_times, heavy_times[1:], strict=False))
    assert all(0 <= k.at <= 300 * 0.85 for k in schedule)
    assert schedule == make_schedule(11, KINDS, kills=30, duration=300, every_kind=True)


def test_a_run_id_renames_the_users_and_keeps_every_choice() -> None:
    first = make_plan(7, 50, 60, run_id=uuid.uuid4())
    again = make_plan(7, 50, 60, run_id=uuid.uuid4())
    assert not {p.user_id for p in first} & {p.user_id for p in again}
    strip = [(p.card, p.refund_kind, p.refunds, p.payment_key, p.start_at) for p in first]
    assert strip == [(p.card, p.refund_kind, p.refunds, p.payment_key, p.start_at) for p in again]
