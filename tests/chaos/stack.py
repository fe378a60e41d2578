"""How the harness and the whole-stack tests reach the running stack of ``make up``.

Everything is located through the CONTRACT's environment variables, so the same code
runs against the dev services or the make-up stack. Processes are found with
``make -s ps`` (the CONTRACT's ``NAME PID`` lines) and stopped/started with the stack's
supervisorctl, never by name matching.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from billing_cli.replay import PROGRAMS

ROOT = Path(__file__).resolve().parents[2]
CONSUMER_GROUPS = PROGRAMS  # {consumer group: supervisord program}
_INSTANCE_SUFFIX = re.compile(r"(_\d+|-\d+|:\S+)$")


class StackNotRunning(RuntimeError):
    """The stack of ``make up`` does not answer."""


@dataclass(frozen=True)
class StackUrls:
    gateway: str
    provider: str
    auth: str
    notify: str
    kafka: str
    database: str

    @classmethod
    def from_env(cls) -> StackUrls:
        env = os.environ.get
        return cls(
            gateway=env("GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/"),
            provider=env("PROVIDER_URL", "http://127.0.0.1:8081").rstrip("/"),
            auth=env("AUTH_URL", "http://127.0.0.1:8082").rstrip("/"),
            notify=env("NOTIFY_URL", "http://127.0.0.1:8083").rstrip("/"),
            kafka=env("KAFKA_BOOTSTRAP_SERVERS") or stack_bootstrap(),
            database=env("DATABASE_URL", "postgresql://billing:billing@127.0.0.1:55432/billing"),
        )

    def http_services(self) -> dict[str, str]:
        return {
            "gateway": self.gateway,
            "provider": self.provider,
            "auth": self.auth,
            "notify": self.notify,
        }


def stack_bootstrap(root: Path = ROOT) -> str:
    """Every broker of the running stack (``make up KAFKA_BROKERS=3`` has three)."""
    shape = root / ".run" / "stack.env"
    brokers = 1
    if shape.exists():
        for line in shape.read_text().splitlines():
            if line.startswith("KAFKA_BROKERS="):
                brokers = int(line.partition("=")[2] or 1)
    return ",".join(f"127.0.0.1:{9092 + 2 * n}" for n in range(brokers))


def unhealthy(urls: StackUrls, timeout: float = 2.0, wait: float = 0.0) -> list[str]:
    """The HTTP services that do not answer ``GET /healthz`` with 200 (empty: all healthy),
    after up to `wait` seconds for them (a test before may just have restarted one)."""
    deadline = time.monotonic() + wait
    while True:
        bad = []
        for name, url in urls.http_services().items():
            try:
                httpx.get(f"{url}/healthz", timeout=timeout).raise_for_status()
            except httpx.HTTPError as exc:
                bad.append(f"{name} ({url}: {exc.__class__.__name__})")
        if not bad or time.monotonic() >= deadline:
            return bad
        time.sleep(0.5)


def stack_missing(reason: str) -> NoReturn:
    """Skip a test that needs the stack when run by hand without it; under `make test`
    (BILLING_STACK_REQUIRED=1, the stack was brought up) a missing stack is a failure, so a
    whole-stack suite can never pass by not running."""
    if os.environ.get("BILLING_STACK_REQUIRED") == "1":
        pytest.fail(f"make test brought the stack up, but {reason}")
    pytest.skip(reason)


async def issue_token(client: httpx.AsyncClient, auth_url: str, user_id: uuid.UUID) -> str:
    response = await client.post(f"{auth_url}/api/v1/token", json={"user_id": str(user_id)})
    response.raise_for_status()
    return str(response.json()["access_token"])


def process_kind(name: str) -> str:
    """``processor-commands-2``, ``processor-commands_01`` and ``processor-commands``: one kind."""
    return _INSTANCE_SUFFIX.sub("", name)


def parse_ps(text: str) -> dict[str, int]:
    """``NAME PID`` lines → {name: pid}; anything else on a line is a contract violation."""
    processes: dict[str, int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, pid = line.split()
        processes[name] = int(pid)
    return processes


def running_processes(root: Path = ROOT) -> dict[str, int]:
    result = subprocess.run(
        ["make", "-s", "-C", str(root), "ps"], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise StackNotRunning(result.stderr.strip() or "make -s ps failed")
    return parse_ps(result.stdout)


def kill_hard(pid: int) -> None:
    """``kill -9``: no cleanup, no flush, no goodbye — the supervisor must restart it."""
    os.kill(pid, signal.SIGKILL)


def supervisor_name(name: str) -> str:
    """supervisorctl's name for a ``make -s ps`` name: ``gateway-2`` is ``gateway:gateway-2``."""
    kind = process_kind(name)
    return name if kind == name else f"{kind}:{name}"


def instances(kind: str, processes: dict[str, int]) -> dict[str, int]:
    """{ps name: pid} of every running instance of one kind."""
    return {name: pid for name, pid in processes.items() if process_kind(name) == kind}


def supervisorctl(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    ctl = root / "infra" / "supervisor" / "ctl"
    return subprocess.run([str(ctl), *args], capture_output=True, text=True, timeout=120)
