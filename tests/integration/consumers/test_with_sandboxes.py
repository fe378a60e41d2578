"""Both consumers against the real Auth and Notification sandboxes (subprocesses)."""

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from consumer_world import (
    ROOT,
    Topics,
    add_payment,
    eventually,
    free_port,
    publish,
    running,
    settle,
    succeeded,
)

from consumers.settings import ConsumerSettings

pytestmark = pytest.mark.skipif(
    not (ROOT / "sandbox" / "auth" / "__main__.py").exists()
    or not (ROOT / "sandbox" / "notify" / "__main__.py").exists(),
    reason="the Auth/Notification sandboxes are not in this tree yet",
)


async def start_sandbox(name: str, tmp: Path) -> tuple[asyncio.subprocess.Process, str]:
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        f"{name.upper()}_URL": url,
        f"{name.upper()}_DB_PATH": str(tmp / f"{name}.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"sandbox.{name}",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as client:

        async def healthy() -> bool:
            try:
                return (await client.get(f"{url}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(healthy, within=20)
    return process, url


@pytest.fixture
async def sandboxes(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    auth, auth_url = await start_sandbox("auth", tmp_path)
    notify, notify_url = await start_sandbox("notify", tmp_path)
    yield auth_url, notify_url
    for process in (auth, notify):
        process.terminate()
        await process.wait()


async def items(url: str, **params: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        return list((await client.get(url, params=params)).json()["items"])


async def test_sandboxes_see_one_grant_and_one_notification_even_after_a_replay(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    settings_for: Callable[..., ConsumerSettings],
    sandboxes: tuple[str, str],
) -> None:
    auth_url, notify_url = sandboxes
    user = uuid.uuid4()
    event = succeeded(user, await add_payment(pool, user))
    await publish(producer, topics.events, event, event)
    calls_url, notes_url = f"{auth_url}/api/v1/calls", f"{notify_url}/api/v1/notifications"

    async def granted_and_notified() -> bool:
        return bool(await items(calls_url, user_id=str(user))) and bool(
            await items(notes_url, user_id=str(user))
        )

    for _ in range(2):  # the second round is a new group: a replay from offset 0
        urls = {"auth_url": auth_url, "notify_url": notify_url}
        async with (
            running("subscriptions", settings_for(**urls)),
            running("notifications", settings_for(**urls)),
        ):
            await eventually(granted_and_notified)
            await settle(2)

    calls = await items(calls_url, user_id=str(user))
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 200)]
    async with httpx.AsyncClient() as client:
        roles = (await client.get(f"{auth_url}/api/v1/users/{user}/roles")).json()["roles"]
    assert roles == ["subscriber"]
    notes = await items(notes_url, user_id=str(user))
    assert [(n["template"], n["dedup_key"]) for n in notes] == [
        ("payment_succeeded", str(event.message_id))
    ]
