"""Fixtures for tests against the real Kafka and PostgreSQL (and the stack's supervisor).

Every test gets fresh, randomly named topics (`new_topic`), so tests never see each
other's records and can run in any order. Everything under tests/integration is marked
`integration`.
"""

import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.chaos.stack import stack_missing

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def kafka_admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    yield admin
    await admin.close()


NewTopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def new_topic(kafka_admin: AIOKafkaAdminClient) -> AsyncIterator[NewTopicFactory]:
    """`await new_topic(partitions=1)` -> the name of a topic made for this test alone."""
    created: list[str] = []

    async def make(partitions: int = 1) -> str:
        name = f"test.{uuid.uuid4().hex[:12]}"
        await kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        created.append(name)
        return name

    yield make
    if created:
        await kafka_admin.delete_topics(created)


_STATUS = re.compile(r"^(?P<name>\S+)\s+(?P<state>[A-Z]+)(?:\s+pid (?P<pid>\d+),)?")


@dataclass(frozen=True)
class Supervisor:
    """The stack's supervisord, through `infra/supervisor/ctl` (supervisorctl)."""

    root: Path

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        ctl = self.root / "infra" / "supervisor" / "ctl"
        return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=30)

    def status(self, name: str) -> tuple[str, int | None]:
        match = _STATUS.match(self.ctl("status", name).stdout)
        if match is None:
            return "UNKNOWN", None
        pid = match["pid"]
        return match["state"], int(pid) if pid else None

    def wait_running(self, name: str, not_pid: int | None, timeout: float) -> int:
        """The pid of `name` once RUNNING under a pid other than `not_pid`; fails after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, pid = self.status(name)
            if state == "RUNNING" and pid is not None and pid != not_pid:
                return pid
            time.sleep(0.05)
        raise AssertionError(f"{name} not RUNNING again within {timeout}s: {self.status(name)}")


@pytest.fixture(scope="session")
def supervisor(repo_root: Path) -> Supervisor:
    sup = Supervisor(repo_root)
    if sup.ctl("pid").returncode != 0:
        stack_missing("the stack's supervisord is not running here (make up)")
    return sup
