"""The processors' record handler takes the message `SeenInBatch` decoded for its record
instead of decoding the record again (`common.runloop.decoding` with a `Decoded`, as
processors/runtime.py builds it)."""

from typing import Any

import pytest
from aiokafka import ConsumerRecord

import common.runloop
from common.inbox import Decoded, Origin
from schemas.codec import UndecodableMessage, encode
from schemas.messages import Envelope, PaymentPending
from tests.events import payment_pending


def pending() -> PaymentPending:
    return payment_pending(confirmation_url="http://x/1")


def record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord("t", 0, offset, 0, 0, b"k", value, None, 0, 0, [])


async def test_a_message_decoded_ahead_is_handed_over_and_a_retry_decodes_the_record(
    monkeypatch: Any,
) -> None:
    got: list[Envelope] = []
    decodes: list[bytes] = []
    real = common.runloop.decode

    def counting(raw: bytes | str) -> Envelope:
        decodes.append(raw if isinstance(raw, bytes) else raw.encode())
        return real(raw)

    async def handle(message: Envelope, where: Origin) -> None:
        got.append(message)

    monkeypatch.setattr(common.runloop, "decode", counting)
    event, decoded = pending(), Decoded()
    r = record(7, encode(event))
    decoded.put(r, event)
    on_record = common.runloop.decoding(handle, decoded)

    await on_record(r)
    assert got == [event] and decodes == []
    await on_record(r)  # a retry of the same record: decoded from its bytes
    assert got == [event, event] and len(decodes) == 1


async def test_an_undecodable_record_still_raises_for_the_policy() -> None:
    async def handle(message: Envelope, where: Origin) -> None:
        raise AssertionError("never handled")

    on_record = common.runloop.decoding(handle, Decoded())
    with pytest.raises(UndecodableMessage):
        await on_record(record(1, b"not json"))
