"""The run loop's ordering and watermark logic, without Kafka."""

import asyncio

import pytest

from common.lanes import Lanes, Watermark


def test_watermark_commits_only_up_to_the_lowest_unfinished_offset() -> None:
    mark = Watermark()
    for offset in (10, 11, 12, 13):
        mark.add(offset)
    mark.finish(12)
    mark.finish(13)
    assert mark.committable() == 10
    mark.finish(10)
    assert mark.committable() == 11
    mark.finish(11)
    assert mark.committable() == 14


def test_watermark_reports_nothing_new_once_committed() -> None:
    mark = Watermark()
    mark.add(5)
    mark.finish(5)
    mark.committed = mark.committable()
    assert mark.committable() is None


def test_watermark_refuses_offsets_going_backwards() -> None:
    mark = Watermark()
    mark.add(7)
    with pytest.raises(ValueError):
        mark.add(3)


async def test_lanes_keep_one_key_in_order_and_run_keys_concurrently() -> None:
    log: list[tuple[str, int]] = []
    running = {"now": 0, "peak": 0}

    async def run_one(item: tuple[str, int]) -> None:
        running["now"] += 1
        running["peak"] = max(running["peak"], running["now"])
        await asyncio.sleep(0.01 * (3 - item[1]))  # later items are faster: order must hold
        log.append(item)
        running["now"] -= 1

    finished: list[tuple[str, int]] = []
    lanes: Lanes[tuple[str, int]] = Lanes(run_one, finished.append)
    for key in "abc":
        for n in range(3):
            lanes.submit(key, (key, n))
    assert lanes.in_flight == 9
    await asyncio.wait_for(_drained(lanes), 5)
    for key in "abc":
        assert [n for k, n in log if k == key] == [0, 1, 2]
    assert running["peak"] == 3
    assert len(finished) == 9


async def test_closing_lanes_drops_queued_items_and_waits_for_the_running_one() -> None:
    started: list[int] = []

    async def run_one(item: int) -> None:
        started.append(item)
        await asyncio.sleep(0.05)

    finished: list[int] = []
    lanes: Lanes[int] = Lanes(run_one, finished.append)
    for n in range(5):
        lanes.submit("k", n)
    await asyncio.sleep(0.01)
    await lanes.close(lambda lane: True, grace_s=1.0)
    assert started == [0] and finished == [0]
    assert lanes.in_flight == 0


async def _drained(lanes: Lanes[tuple[str, int]]) -> None:
    while lanes.in_flight:  # noqa: ASYNC110 (polling a plain counter is the point)
        await asyncio.sleep(0.01)
