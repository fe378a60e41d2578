"""The consumers' policy on the common loop: what is permanent, an outage, and the DLQ reason."""

import asyncio

import pytest
from aiokafka import ConsumerRecord

from common.runloop import GaveUp, decoding
from consumers.delivery import policy_from, reason
from consumers.errors import PermanentError, TransientError
from consumers.settings import ConsumerSettings
from schemas.codec import UndecodableMessage


def test_policy_retries_then_dead_letters_and_waits_out_outages() -> None:
    policy = policy_from(ConsumerSettings(consumer_retry_attempts=4))
    assert policy.attempts == 4 and policy.gives_up
    assert issubclass(PermanentError, policy.permanent)
    assert issubclass(UndecodableMessage, policy.permanent)
    assert issubclass(ConnectionRefusedError, policy.outages)
    assert issubclass(asyncio.TimeoutError, policy.outages)
    assert not issubclass(TransientError, policy.permanent + policy.outages)


def test_reason_says_why_the_record_was_dead_lettered() -> None:
    assert reason(GaveUp(UndecodableMessage("bad json"), 1, True)).startswith("undecodable: ")
    assert reason(GaveUp(PermanentError("403"), 1, True)) == "permanent: 403"
    assert (
        reason(GaveUp(TransientError("503"), 6, False))
        == "gave up after 6 attempts: TransientError: 503"
    )


async def test_an_undecodable_record_never_reaches_the_handler() -> None:
    called: list[object] = []

    async def handle(event: object, origin: object) -> None:
        called.append(event)

    rec = ConsumerRecord("t", 0, 5, 0, 0, b"k", b"{not json", None, 0, 0, [])
    with pytest.raises(UndecodableMessage):
        await decoding(handle)(rec)
    assert called == []
