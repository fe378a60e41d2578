"""The self-healing producer (aiokafka #1017), the one backoff and the start-up wait."""

import asyncio

import pytest
from kafka_fakes import FakeProducer

from common.producer import Message, Producer
from common.retry import RetryPolicy, backoff, until_up
from common.settings import Settings


async def test_a_failed_send_replaces_the_producer_and_the_retry_goes_through_a_new_one() -> None:
    made: list[FakeProducer] = [FakeProducer(fail_sends=1), FakeProducer()]
    factory = iter(made)
    producer = Producer(Settings(), factory=lambda: next(factory))  # type: ignore[arg-type,return-value]
    with pytest.raises(RuntimeError):
        await producer.send("t", b"v", key=b"k")
    assert made[0].stopped  # stuck producer thrown away
    await producer.send_all([Message("t", b"k", b"v", [("x-request-id", b"r1")])])
    assert made[1].sent == [("t", b"v", b"k", [("x-request-id", b"r1")])]
    await producer.close()
    assert made[1].stopped


async def test_a_late_failure_does_not_drop_the_producer_that_replaced_it() -> None:
    first, second = FakeProducer(), FakeProducer()
    factory = iter([first, second])
    producer = Producer(Settings(), factory=lambda: next(factory))  # type: ignore[arg-type,return-value]
    await producer.send("t", b"1")
    await producer.reset()
    await producer.send("t", b"2")  # starts `second`
    await producer._discard(first)  # type: ignore[arg-type] # a straggler of `first` failing
    await producer.send("t", b"3")
    assert [v for _, v, _, _ in second.sent] == [b"2", b"3"] and not second.stopped


@pytest.mark.parametrize("count", [1, 2])
async def test_a_send_not_acked_in_time_times_out_and_replaces_the_producer(count: int) -> None:
    made = [FakeProducer(ack=False), FakeProducer()]
    factory = iter(made)
    producer = Producer(Settings(), timeout_s=0.05, factory=lambda: next(factory))  # type: ignore[arg-type,return-value]
    with pytest.raises(TimeoutError):
        await producer.send_all([Message("t", None, b"v")] * count)
    assert made[0].stopped
    await producer.send("t", b"again")
    assert made[1].sent == [("t", b"again", None, None)]
    await producer.close()


def test_backoff_doubles_from_base_within_jitter_and_stays_under_the_cap() -> None:
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (8, 5.0), (500, 5.0)]:
        delays = [backoff(attempt, 0.2, 5.0) for _ in range(100)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_only_a_finite_policy_exhausts() -> None:
    assert RetryPolicy(attempts=3).exhausted(3) and not RetryPolicy(attempts=3).exhausted(2)
    assert not RetryPolicy.until_it_works(0.2, 30.0).exhausted(10**6)
    assert not RetryPolicy.until_it_works(0.2, 30.0).gives_up


async def test_until_up_waits_through_outages_and_returns_what_connect_made() -> None:
    tries: list[int] = []

    async def connect() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise ConnectionRefusedError("not yet")
        return "pool"

    assert await asyncio.wait_for(until_up("PostgreSQL", connect), 5) == "pool"
    assert len(tries) == 3


async def test_until_up_gives_none_once_asked_to_stop_and_lets_bugs_through() -> None:
    stop = asyncio.Event()

    async def never() -> str:
        stop.set()
        raise ConnectionRefusedError("down")

    assert await until_up("Kafka", never, stop) is None

    async def bug() -> str:
        raise KeyError("not an outage")

    with pytest.raises(KeyError):
        await until_up("Kafka", bug)
