"""The broker proof's "back" check, on fakes of the stack (no broker is killed here).

Right after a `kill -9` Kafka still lists the dead broker in every ISR: the controller
drops it only when its session expires. The proof must not take that for "back".
"""

from dataclasses import dataclass

import pytest

from tests.chaos import brokers


@dataclass
class FakeBroker:
    """kafka-2 runs as pid 100; supervisord restarts it as pid 200 on the `restart_at`-th look."""

    restart_at: int = 4
    looks: int = 0
    killed: int | None = None

    def processes(self, *_: object) -> dict[str, int]:
        self.looks += 1
        return {"kafka-2": 100 if self.looks < self.restart_at else 200}

    def kill(self, pid: int) -> None:
        self.killed = pid

    @property
    def restarted(self) -> bool:
        return self.looks >= self.restart_at


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()

    async def in_sync(_: str) -> bool:
        return True  # what the ISR says, dead broker included, until its session expires

    async def node_back(_: str, node: int) -> bool:
        return node == 2 and fake.restarted

    monkeypatch.setattr(brokers, "running_processes", fake.processes)
    monkeypatch.setattr(brokers, "kill_hard", fake.kill)
    monkeypatch.setattr(brokers, "all_in_sync", in_sync)
    monkeypatch.setattr(brokers, "node_back", node_back, raising=False)
    return fake


async def test_a_killed_broker_is_back_only_once_a_new_process_serves(broker: FakeBroker) -> None:
    proof = brokers.BrokerProof("127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096")
    proof.settle_s = 0.05

    result = await proof._kill("kafka-2", "controller leader")

    assert broker.killed == 100
    assert broker.restarted, "counted back while the killed broker was still down"
    assert result.seconds_back is not None


async def test_a_broker_that_never_returns_is_reported_not_back(
    broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.restart_at = 10**9
    monkeypatch.setattr(brokers, "BACK_TIMEOUT_S", 0.3)
    proof = brokers.BrokerProof("127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096")
    proof.settle_s = 0.05

    result = await proof._kill("kafka-2", "the third")

    assert result.seconds_back is None


async def test_no_broker_is_killed_while_the_last_one_killed_is_not_back(
    broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.restart_at = 10**9
    monkeypatch.setattr(brokers, "BACK_TIMEOUT_S", 0.3)
    monkeypatch.setattr(brokers, "controller_leader", lambda: 2)
    proof = brokers.BrokerProof("127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096")
    proof.settle_s = 0.05

    await proof.run(0.0)

    assert [(r.name, r.seconds_back) for r in proof.results] == [("kafka-2", None)]
