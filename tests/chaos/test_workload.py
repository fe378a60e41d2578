"""The workload's client side, without a stack: what a user does when the run's time is up."""

import random
import uuid

import httpx

from tests.chaos.client import Client
from tests.chaos.plan import RefundKind, UserPlan
from tests.chaos.stack import StackUrls
from tests.chaos.workload import Outcome, _confirm

URLS = StackUrls("http://gw", "http://provider", "http://auth", "http://notify", "k:9092", "pg")


async def test_a_payment_without_its_page_at_the_deadline_is_left_to_the_invariants() -> None:
    user = uuid.uuid4()
    plan = UserPlan(user, "key", "4242424242424242", RefundKind.NONE)
    outcome = Outcome(user, "key", payment_id=str(uuid.uuid4()), answer=202)
    pending = {"payment_id": outcome.payment_id, "status": "pending", "confirmation_url": None}
    async with httpx.AsyncClient() as http:
        client = Client(http, URLS, deadline=0.0, rng=random.Random(1))  # the deadline is past

        seen = await _confirm(client, plan, pending, outcome)

    assert seen == pending
    assert outcome.status == "pending"  # "nothing lost" then asks the stack what it became
    assert client.counters.requests == 0


async def test_the_quiet_phase_gets_its_time_after_proofs_that_outlasted_the_run() -> None:
    from tests.chaos.runner import _give_time

    async with httpx.AsyncClient() as http:
        client = Client(http, URLS, deadline=0.0, rng=random.Random(1))  # proofs ran long
        _give_time(client, 60.0)
        assert client.deadline >= client.now() + 59.0
        later = client.deadline + 500.0
        client.deadline = later
        _give_time(client, 60.0)
        assert client.deadline == later  # never shortened
