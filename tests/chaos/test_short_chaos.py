"""The short chaos run of `make test`: 30 s of chaos, 200 payments, every process kind killed
(`make chaos` is the long one; CHAOS_SHORT_PAYMENTS / _DURATION / _SEED override this one).

30 s, not 40 s as before: the same kills (one per kind, a few more) and payments come
closer together, renewals on the 12 s plan still fall inside the chaos, and the run's
tail — payments whose webhook was dropped wait RECONCILE_AFTER_SECONDS (30 s) for the
reconciler — is the same either way."""

import os
from pathlib import Path

import pytest

from tests.chaos.runner import ChaosConfig, run_chaos
from tests.chaos.stack import (
    StackNotRunning,
    StackUrls,
    process_kind,
    running_processes,
    stack_missing,
)
from tests.e2e.fixtures import urls  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive(order=3)]

PAYMENTS = int(os.environ.get("CHAOS_SHORT_PAYMENTS", "200"))
DURATION = float(os.environ.get("CHAOS_SHORT_DURATION", "30"))
SEED = int(os.environ.get("CHAOS_SHORT_SEED", "20251126"))


@pytest.mark.timeout(420)
async def test_short_chaos_run_keeps_every_invariant(urls: StackUrls) -> None:  # noqa: F811
    try:
        kinds = {process_kind(name) for name in running_processes(Path.cwd())}
    except StackNotRunning as exc:
        stack_missing(f"no supervised stack to kill processes in: {exc}")
    config = ChaosConfig(payments=PAYMENTS, seed=SEED, duration=DURATION, quiesce_timeout=150)

    run = await run_chaos(config, urls)
    print(*run.notes, sep="\n")

    assert set(run.kills) == kinds, f"not every kind was killed: {run.kills}"
    assert run.accepted >= PAYMENTS * 0.95
    assert {c.name: c.violations[:5] for c in run.checks if c.violations} == {}
