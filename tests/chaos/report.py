"""The run's report: rich tables on the terminal, the same text kept in docs/chaos-report.md."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.chaos.invariants import Check

SHOWN_PER_CHECK = 5


@dataclass
class RunSummary:
    seed: int
    payments_planned: int
    refunds_planned: int
    elapsed_s: float
    requests: int
    accepted: int
    retries: int
    statuses: Counter[int]
    transport_errors: Counter[str]
    refunds_accepted: int
    kills: Counter[str]
    missed_kills: Counter[str]
    faults: dict[str, dict[str, Any]]
    checks: list[Check]
    notes: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return sum(len(c.violations) for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.violations == 0


def summary_line(run: RunSummary) -> str:
    verdict = "PASS" if run.passed else "FAIL"
    return (
        f"chaos {verdict}: seed {run.seed}, {run.payments_planned} payments "
        f"({run.accepted} answered 202), {run.refunds_accepted} refunds accepted, "
        f"{sum(run.kills.values())} kills, {run.violations} violations in {run.elapsed_s:.0f}s"
    )


def tables(run: RunSummary) -> list[Table]:
    return [_workload(run), _kills(run), _faults(run), _invariants(run)]


def _workload(run: RunSummary) -> Table:
    table = Table(title="Workload")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("payments planned", run.payments_planned),
        ("refund requests planned", run.refunds_planned),
        ("HTTP requests", run.requests),
        ("payments answered 201/202", run.accepted),
        ("refunds answered 202", run.refunds_accepted),
        ("client retries (same Idempotency-Key)", run.retries),
    ]
    rows += [(f"answers {code}", n) for code, n in sorted(run.statuses.items())]
    rows += [(f"transport errors {name}", n) for name, n in sorted(run.transport_errors.items())]
    for measure, value in rows:
        table.add_row(measure, str(value))
    return table


def _kills(run: RunSummary) -> Table:
    table = Table(title="kill -9 by process")
    table.add_column("process")
    table.add_column("kills", justify="right")
    table.add_column("missed", justify="right")
    for kind in sorted(set(run.kills) | set(run.missed_kills)):
        table.add_row(kind, str(run.kills[kind]), str(run.missed_kills[kind]))
    table.add_row("total", str(sum(run.kills.values())), str(sum(run.missed_kills.values())))
    return table


def _faults(run: RunSummary) -> Table:
    table = Table(title="Faults injected")
    table.add_column("service")
    table.add_column("settings")
    for service, settings in run.faults.items():
        shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "seed")
        table.add_row(service, shown)
    return table


def _invariants(run: RunSummary) -> Table:
    table = Table(title="Invariants")
    table.add_column("invariant")
    table.add_column("checked", justify="right")
    table.add_column("violations", justify="right")
    table.add_column("first violations")
    for check in run.checks:
        shown = "\n".join(check.violations[:SHOWN_PER_CHECK])
        table.add_row(check.name, str(check.checked), str(len(check.violations)), shown)
    return table


def render(run: RunSummary, console: Console) -> None:
    for table in tables(run):
        console.print(table)
    for note in run.notes:
        console.print(f"note: {note}")
    console.print(summary_line(run))


def markdown(run: RunSummary, command: str, when: str) -> str:
    """The report as kept in docs/chaos-report.md: the command, then the terminal text."""
    console = Console(record=True, width=120, color_system=None, file=_Null())
    render(run, console)
    return (
        "# Chaos report\n\n"
        f"Produced {when} by:\n\n```sh\n{command}\n```\n\n"
        f"**{summary_line(run)}**\n\n```text\n{console.export_text()}```\n"
    )


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        return None
