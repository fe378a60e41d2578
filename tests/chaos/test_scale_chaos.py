"""The short scale proofs (`make test-scale`, on `make up SCALE=2 KAFKA_BROKERS=3`).

One chaos run with the usual random kills, plus: one instance of each worker SIGKILLed and
kept down until the survivors own its work (tests/chaos/takeover.py), and each of the three
brokers SIGKILLed in turn — the controller leader and the leader of billing.commands.v1
first — then two brokers stopped at once (tests/chaos/brokers.py). Skipped on a stack of
another shape (`make test` runs SCALE=1 on one broker).
"""

import os
from pathlib import Path

import pytest

from tests.chaos.runner import ChaosConfig, run_chaos
from tests.chaos.stack import (
    StackNotRunning,
    StackUrls,
    instances,
    running_processes,
    stack_missing,
)

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive(order=4)]

PAYMENTS = int(os.environ.get("CHAOS_SCALE_PAYMENTS", "300"))
SEED = int(os.environ.get("CHAOS_SCALE_SEED", "20261203"))


@pytest.mark.timeout(900)
async def test_rebalances_and_broker_failures_keep_every_invariant() -> None:
    try:
        processes = running_processes(Path.cwd())
    except StackNotRunning as exc:
        stack_missing(f"no supervised stack: {exc}")
    if len(instances("kafka", processes)) < 3 or len(instances("gateway", processes)) < 2:
        pytest.skip("needs `make up SCALE=2 KAFKA_BROKERS=3` (make test-scale)")
    config = ChaosConfig(payments=PAYMENTS, seed=SEED, duration=150, quiesce_timeout=240)

    run = await run_chaos(config, StackUrls.from_env())

    names = {check.name for check in run.checks}
    assert {"takeover (SCALE)", "broker failover"} <= names
    assert run.accepted >= PAYMENTS * 0.95
    assert {c.name: c.violations[:5] for c in run.checks if c.violations} == {}
