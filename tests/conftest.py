"""Session-wide test configuration: where Kafka and PostgreSQL are.

Resolution order, for each of the two:
1. the caller's env var (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`), as `make test` passes them;
2. the local stack at the defaults of docs/architecture.md, if it answers (`make up`);
3. a throw-away container (testcontainers) when a working Docker engine is at hand;
4. the defaults anyway, so a test that needs them fails with a connection error that
   points at `make up` rather than being skipped in silence.

Async tests share one session event loop (pyproject: asyncio_mode=auto, loop scope
session); `anyio_backend` keeps anyio-marked tests on that same asyncio.
"""

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Settings fail closed (an unset BILLING_ENV is production); the tests run with dev secrets.
os.environ.setdefault("BILLING_ENV", "test")
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "postgresql://billing:billing@127.0.0.1:55432/billing"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"  # Kafka 3.7, KRaft-capable
POSTGRES_IMAGE = "postgres:15"


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def docker_engine_works() -> bool:
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        return bool(docker.from_env(timeout=3).ping())
    except (DockerException, OSError):
        return False


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    host, _, port = (given or DEFAULT_KAFKA_BOOTSTRAP).split(",")[0].rpartition(":")
    if given or answers(host, int(port)) or not docker_engine_works():
        yield given or DEFAULT_KAFKA_BOOTSTRAP
        return
    from testcontainers.community.kafka import KafkaContainer

    container = (
        KafkaContainer(KAFKA_IMAGE)
        .with_kraft()
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    with container as kafka:
        bootstrap = kafka.get_bootstrap_server()
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        create_topics = ROOT / "infra" / "kafka" / "create_topics.py"
        subprocess.run([sys.executable, create_topics, "--bootstrap", bootstrap], check=True)
        yield bootstrap


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    given = os.environ.get("DATABASE_URL")
    default = urlsplit(DEFAULT_DATABASE_URL)
    if given or answers(default.hostname or "", default.port or 0) or not docker_engine_works():
        yield given or DEFAULT_DATABASE_URL
        return
    import psycopg
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(
        POSTGRES_IMAGE, username="billing", password="billing", dbname="billing", driver=None
    )
    with container as postgres:
        url = postgres.get_connection_url()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS payments_history AUTHORIZATION billing")
        os.environ["DATABASE_URL"] = url
        yield url


class PausedPrograms:
    """Programs of the stack (when one is up) that the tests hold stopped right now.

    The integration tests share the stack's database: its janitors would act on the rows a
    test is setting up (the stack's reconciler re-drove a test's payment first, and the
    test's own pass found nothing to do). A module asks with `pause_stack_programs(...)`.
    A program stays stopped from one module that asks for it to the next one that asks
    again; the first test that does not ask, or the session's end, starts it again. (Started
    after every module, then stopped by the next one, the pause cost ~4 s a module: 17
    processors modules in a row paid ~1 min for it.)
    """

    def __init__(self, root: Path) -> None:
        self.ctl = root / "infra" / "supervisor" / "ctl"
        self.stopped: set[str] = set()
        self.starting: list[subprocess.Popen[bytes]] = []

    def pause(self, *names: str) -> None:
        """Exactly `names` stopped: the others paused before are started again."""
        self.resume(keep=names)
        self.started_again()  # a start still on its way would undo this stop
        wanted = sorted(set(names) - self.stopped)
        if not wanted:
            return
        if self._run("stop", *wanted) == 0:
            self.stopped.update(wanted)
        else:  # which one failed (no stack, unknown program): only the others count
            self.stopped.update(name for name in wanted if self._run("stop", name) == 0)

    def resume(self, keep: Iterable[str] = ()) -> None:
        """Start the paused programs not in `keep`, not waited for (startsecs per program):
        the next pause or the session's end waits."""
        names = sorted(self.stopped - set(keep))
        if names:
            self.stopped -= set(names)
            self.starting.append(
                subprocess.Popen(
                    [self.ctl, "start", *names],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def started_again(self) -> None:
        while self.starting:
            self.starting.pop().wait(timeout=120)

    def _run(self, *args: str) -> int:
        return subprocess.run([self.ctl, *args], capture_output=True, timeout=60).returncode


PAUSED = PausedPrograms(ROOT)


@pytest.fixture(scope="module")
def pause_stack_programs() -> Callable[..., None]:
    """`pause("reconciler", ...)`: those programs of the stack stopped while the module that
    asks runs (PausedPrograms says until when). Module scope: these folders have no
    __init__.py, and a "package" fixture lives until the session's end."""
    return PAUSED.pause


@pytest.fixture(autouse=True)
def _paused_programs_run_for_the_others(request: pytest.FixtureRequest) -> None:
    if "pause_stack_programs" not in request.fixturenames:
        PAUSED.resume()


@pytest.fixture(scope="session", autouse=True)
def _paused_programs_started_at_the_end() -> Iterator[None]:
    yield
    PAUSED.resume()
    PAUSED.started_again()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that kill or stop processes of the shared stack last, in their order.

    They leave the stack healthy again, but anything running next to them sees the
    outage; putting them at the end keeps the other tests' results about their own code.
    """

    def rank(item: pytest.Item) -> tuple[int, int]:
        marker = item.get_closest_marker("disruptive")
        return (0, 0) if marker is None else (1, int(marker.kwargs.get("order", 0)))

    items.sort(key=rank)
