"""A dead letter's row must be insertable whatever the record held: PostgreSQL's text refuses
a NUL, and a row that can never be inserted would be retried for good, blocking the lane."""

from typing import Any

from aiokafka import ConsumerRecord

from common.dead_letters import DeadLetters
from common.runloop import GaveUp


class _Pool:
    def __init__(self) -> None:
        self.args: list[Any] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.args.extend(args)


class _Producer:
    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        return None


async def test_a_record_with_nul_bytes_gives_a_row_postgresql_accepts() -> None:
    record = ConsumerRecord(
        "billing.commands.v1", 0, 7, 0, 0, b"us\x00er", b'{"a": "\x00"}', None, 6, 12, ()
    )
    pool = _Pool()
    letters = DeadLetters("processor", pool, _Producer(), "billing.dlq.v1")  # type: ignore[arg-type]
    await letters.write(record, GaveUp(ValueError("bad \x00 byte"), 1, True))
    texts = [a for a in pool.args if isinstance(a, str)]
    assert texts and not any("\x00" in t for t in texts)
    assert "us\ufffder" in texts and '{"a": "\ufffd"}' in texts
