"""infra/prometheus/render.py: one job per program, one target per instance port."""

import json
import os
import subprocess
import sys
from pathlib import Path

from common.metrics import PORTS

ROOT = Path(__file__).resolve().parents[2]


def render(**env: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra/prometheus/render.py")],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    config = json.loads(done.stdout)
    assert config["rule_files"] == [str(ROOT / "infra/prometheus/alerts.yml")]
    return {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }


def test_every_worker_gateway_and_prometheus_itself_are_scraped() -> None:
    jobs = render(SCALE="1", GATEWAY_URL="http://127.0.0.1:8000")
    assert set(jobs) == {"prometheus", "gateway", "admin", *PORTS}
    assert jobs["gateway"] == ["127.0.0.1:8000"]
    assert jobs["admin"] == ["127.0.0.1:8001"]
    assert jobs["reconciler"] == [f"127.0.0.1:{PORTS['reconciler']}"]


def test_scale_adds_one_target_per_instance_and_an_overridden_port_moves_them() -> None:
    jobs = render(SCALE="3", OUTBOX_RELAY_METRICS_PORT="19000")
    assert jobs["outbox-relay"] == ["127.0.0.1:19000", "127.0.0.1:19001", "127.0.0.1:19002"]
    base = PORTS["consumer-notifications"]
    assert jobs["consumer-notifications"] == [f"127.0.0.1:{base + i}" for i in range(3)]


def test_a_program_whose_endpoint_is_off_is_not_scraped() -> None:
    assert "reconciler" not in render(RECONCILER_METRICS_PORT="0")
