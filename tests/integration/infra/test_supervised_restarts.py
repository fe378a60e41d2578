"""The supervised stack: `make -s ps` output and restarts after kill -9 (CONTRACT §1)."""

import asyncio
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from tests.chaos.stack import StackUrls

if TYPE_CHECKING:  # the fixtures live in conftest; import it only for the type checker
    from tests.integration.conftest import NewTopicFactory, Supervisor

pytestmark = pytest.mark.disruptive(order=2)

RESTART_LIMIT_S = 5.0
PS_LINE = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*) (?P<pid>[1-9][0-9]*)$")


def make_ps(root: Path) -> str:
    # As a user types it: no MAKEFLAGS/MAKELEVEL inherited from a surrounding `make test`.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", "-s", "ps"], cwd=root, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_ps_prints_one_name_pid_line_per_running_process_and_nothing_else(
    repo_root: Path, supervisor: "Supervisor"
) -> None:
    lines = make_ps(repo_root).splitlines()
    matches = [PS_LINE.match(line) for line in lines]
    assert all(matches), lines
    names = [m["name"] for m in matches if m]
    assert len(names) == len(set(names))
    assert {"kafka", "postgres"} <= set(names)
    for m in matches:
        assert m is not None
        assert supervisor.status(m["name"]) == ("RUNNING", int(m["pid"]))
        os.kill(int(m["pid"]), 0)  # alive


async def until_kafka_commits_transactions(bootstrap: str, topic: str) -> None:
    """Returns once a transaction commits: after a kill -9 the broker answers metadata
    requests before its transaction coordinator has reloaded its log, and the tests that
    run next (processors, relay) need the coordinator."""
    while True:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, transactional_id=f"test-probe-{uuid.uuid4()}"
        )
        try:
            await producer.start()
            async with producer.transaction():
                await producer.send_and_wait(topic, b"probe")
            return
        except (KafkaError, OSError):
            await asyncio.sleep(0.5)
        finally:
            await producer.stop()


async def until_postgres_answers(database_url: str) -> None:
    while True:
        try:
            conn = await asyncpg.connect(database_url, timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await asyncio.sleep(0.3)
        else:
            await conn.close()
            return


def kill_and_time_restart(supervisor: "Supervisor", name: str) -> float:
    state, old_pid = supervisor.status(name)
    assert state == "RUNNING" and old_pid is not None, (name, state)
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    supervisor.wait_running(name, not_pid=old_pid, timeout=RESTART_LIMIT_S + 5)
    return time.monotonic() - killed_at


async def test_kafka_killed_with_sigkill_is_back_within_five_seconds(
    supervisor: "Supervisor", kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    probe_topic = await new_topic()
    elapsed = kill_and_time_restart(supervisor, "kafka")
    async with asyncio.timeout(120):  # usable again for the tests that follow
        await until_kafka_commits_transactions(kafka_bootstrap, probe_topic)
    assert elapsed < RESTART_LIMIT_S


async def test_postgres_killed_with_sigkill_is_back_within_five_seconds(
    supervisor: "Supervisor", database_url: str
) -> None:
    elapsed = kill_and_time_restart(supervisor, "postgres")
    async with asyncio.timeout(60):  # crash recovery, stale pid file, then connections
        await until_postgres_answers(database_url)
    assert elapsed < RESTART_LIMIT_S


def test_application_process_killed_with_sigkill_is_back_within_five_seconds(
    repo_root: Path, supervisor: "Supervisor"
) -> None:
    names = [line.split()[0] for line in make_ps(repo_root).splitlines()]
    others = sorted(set(names) - {"kafka", "postgres"}, key=lambda n: (n != "gateway", n))
    if not others:
        pytest.skip("no application process is supervised yet")
    killed = others[0]
    elapsed = kill_and_time_restart(supervisor, killed)
    url = StackUrls.from_env().http_services().get(killed)
    if url is not None:  # usable again for the tests that follow
        assert serves_within(url, seconds=60), f"{killed} restarted but does not answer"
    assert elapsed < RESTART_LIMIT_S


def serves_within(url: str, seconds: float) -> bool:
    """RUNNING is supervisord's word once `startsecs` passed, not "listening": the test after
    this one met the restarted gateway refusing connections, so wait for its `/healthz`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False
