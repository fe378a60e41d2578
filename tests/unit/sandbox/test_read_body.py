"""`sandbox.basic.read_body`: the whole body for the app, or nothing when the client left."""

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from sandbox.basic import read_body


def receiving(*messages: Message):  # type: ignore[no-untyped-def]
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


async def test_a_body_in_parts_is_read_whole_and_handed_to_the_app_again() -> None:
    raw, replay = await read_body(
        receiving(
            {"type": "http.request", "body": b'{"a"', "more_body": True},
            {"type": "http.request", "body": b": 1}", "more_body": False},
        )
    )
    assert raw == b'{"a": 1}'
    assert await replay() == {"type": "http.request", "body": b'{"a": 1}', "more_body": False}


async def test_a_client_that_leaves_mid_body_is_not_served_the_part_that_came() -> None:
    receive = receiving(
        {"type": "http.request", "body": b'{"user_id": "u', "more_body": True},
        {"type": "http.disconnect"},
    )
    with pytest.raises(ClientDisconnect):
        await read_body(receive)
