"""Replays through Kafka's own consumer-group offset reset (``kafka-consumer-groups``).

A group's offsets can only be reset while it has no active member, so the group's program
is stopped with the stack's supervisorctl first and started again afterwards — whatever
happens in between. Replaying is safe by design: every effect is keyed by a deterministic id.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schemas import topics

ROOT = Path(__file__).resolve().parents[1]
KAFKA_GROUPS_TOOL = ROOT / "infra" / "kafka" / "bin" / "kafka-consumer-groups"
SUPERVISORCTL = ROOT / "infra" / "supervisor" / "ctl"

PROGRAMS: dict[str, str] = {
    "billing-processor-commands": "processor-commands",
    "billing-processor-webhooks": "processor-webhooks",
    "billing-consumer-subscriptions": "consumer-subscriptions",
    "billing-consumer-notifications": "consumer-notifications",
}
TOPIC_GROUPS: dict[str, tuple[str, ...]] = {
    topics.COMMANDS: ("billing-processor-commands",),
    topics.WEBHOOKS: ("billing-processor-webhooks",),
    topics.EVENTS: ("billing-consumer-subscriptions", "billing-consumer-notifications"),
}
NOT_INACTIVE = "inactive"  # the tool's complaint while the group still has members


class ReplayError(RuntimeError):
    """The offset reset did not happen."""


@dataclass(frozen=True)
class Target:
    """Where to move a group's offsets: earliest, an absolute offset, or a point in time."""

    offset: int | None = None
    at: datetime | None = None

    def tool_args(self) -> list[str]:
        if self.offset is not None:
            return ["--to-offset", str(self.offset)]
        if self.at is not None:
            return ["--to-datetime", kafka_datetime(self.at)]
        return ["--to-earliest"]


def kafka_datetime(at: datetime) -> str:
    """The tool's format, 'YYYY-MM-DDTHH:mm:SS.sss', in UTC (a naive time is taken as UTC)."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}"


def groups_for(group: str | None, topic: str | None) -> list[str]:
    if group:
        return [group]
    if topic in TOPIC_GROUPS:
        return list(TOPIC_GROUPS[topic])
    raise ReplayError(f"no consumer group reads {topic!r}; name one with --group")


def reset_command(
    bootstrap: str, group: str, topic: str | None, target: Target, execute: bool
) -> list[str]:
    scope = ["--topic", topic] if topic else ["--all-topics"]
    mode = "--execute" if execute else "--dry-run"
    return [
        str(KAFKA_GROUPS_TOOL),
        "--bootstrap-server",
        bootstrap,
        "--group",
        group,
        "--reset-offsets",
        *target.tool_args(),
        *scope,
        mode,
    ]


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def run_tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def reset_offsets(command: list[str], run: Runner = run_tool, within: float = 60.0) -> str:
    """Run the reset, waiting out members that have not left the group yet."""
    deadline = time.monotonic() + within
    while True:
        result = run(command)
        output = result.stdout + result.stderr
        if result.returncode == 0 and NOT_INACTIVE not in output:
            return result.stdout
        if NOT_INACTIVE not in output or time.monotonic() > deadline:
            raise ReplayError(output.strip() or f"exit status {result.returncode}")
        time.sleep(1.0)


def program(group: str) -> str | None:
    return PROGRAMS.get(group)


def supervise(action: str, name: str, run: Runner = run_tool) -> None:
    result = run([str(SUPERVISORCTL), action, name])
    if result.returncode != 0:
        raise ReplayError(
            f"supervisorctl {action} {name}: {(result.stdout + result.stderr).strip()}"
        )
