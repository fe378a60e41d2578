"""The report: tables, a one-line summary, the markdown kept in docs/chaos-report.md."""

from collections import Counter

from rich.console import Console

from tests.chaos.invariants import Check
from tests.chaos.report import RunSummary, markdown, render, summary_line


def summary(violations: list[str]) -> RunSummary:
    return RunSummary(
        seed=42,
        payments_planned=300,
        refunds_planned=150,
        elapsed_s=61.2,
        requests=4000,
        accepted=299,
        retries=120,
        statuses=Counter({202: 299, 503: 40}),
        transport_errors=Counter({"ConnectError": 17}),
        refunds_accepted=140,
        kills=Counter({"gateway": 2, "kafka": 1}),
        missed_kills=Counter(),
        faults={"provider": {"error_rate": 0.08, "seed": 42}},
        checks=[Check("no double charge", 300), Check("grants", 600, violations)],
    )


def test_summary_line_says_pass_and_the_counts() -> None:
    line = summary_line(summary([]))

    assert line.startswith("chaos PASS")
    assert "seed 42" in line and "3 kills" in line and "0 violations" in line


def test_any_violation_fails_the_run_and_is_shown() -> None:
    run = summary(["user u: Auth subscriber=True, entitled=False"])
    console = Console(record=True, width=160, file=open("/dev/null", "w"))  # noqa: SIM115

    render(run, console)
    text = console.export_text()

    assert not run.passed
    assert "chaos FAIL" in text and "Auth subscriber=True" in text
    assert "kafka" in text and "ConnectError" in text and "error_rate=0.08" in text


def test_markdown_report_keeps_the_command() -> None:
    text = markdown(summary([]), "python -m tests.chaos --payments 300 --seed 42", "today")

    assert text.startswith("# Chaos report")
    assert "python -m tests.chaos --payments 300 --seed 42" in text
    assert "chaos PASS" in text and "Invariants" in text
