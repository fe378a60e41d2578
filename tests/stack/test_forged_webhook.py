"""Issue 10.2 end to end: a forged notification cannot suppress the genuine one.

The gateway's message_id for a notification is built from the untrusted body (object id,
event, status), so a forger who knows a payment's provider id sends the very message_id the
provider's real `payment.succeeded` will carry. The processor re-reads the provider, which
still says `pending`: nothing changes, and nothing may be recorded as done, or the genuine
notification that follows is deduplicated away and success waits for the reconciler (30 s
and up). Both notifications are keyed by the provider payment id: one lane, in order.
"""

import asyncio

import httpx
import pytest

from tests.stack.conftest import Stack, User
from tests.stack.flows import GOOD_CARD, confirm, eventually, get_payment, pay, wait_for_status

pytestmark = pytest.mark.e2e

WELL_BEFORE_THE_RECONCILER_S = 12  # RECONCILE_AFTER_SECONDS is 30 on the stack
FORGED_HANDLED_S = 2  # a running processor handles it in milliseconds; nothing to observe


async def test_a_forged_success_does_not_suppress_the_genuine_webhook(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)
    payment = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    external_id = payment["confirmation_url"].rstrip("/").rsplit("/", 1)[-1]
    forged = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {"id": external_id, "status": "succeeded"},
    }
    response = await http.post(f"{stack.gateway}/api/v1/webhooks/yookassa", json=forged)
    assert response.status_code == 200, response.text
    await asyncio.sleep(FORGED_HANDLED_S)  # re-read while the provider still says pending

    await confirm(http, stack, payment, GOOD_CARD)  # the provider sends the genuine one

    final = await eventually(
        lambda: get_payment(http, stack, user, payment["payment_id"]),
        lambda p: p["status"] == "succeeded",
        within=WELL_BEFORE_THE_RECONCILER_S,
    )
    assert final["status"] == "succeeded"
