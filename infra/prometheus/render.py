"""Prints the stack's Prometheus configuration (JSON, which is YAML) to stdout.

One scrape job per program (`job` = the supervisord program name), one target per instance:
the workers at their metrics port + instance index (`common.metrics`), the gateway at
GATEWAY_URL, Prometheus itself. `SCALE` (default 1) is the number of instances of each
worker; the alert rules are `infra/prometheus/alerts.yml`.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from common.metrics import PORTS, MetricsSettings
from common.settings import Settings, host_port

SCRAPE_INTERVAL = "5s"


def job(name: str, targets: list[str]) -> dict[str, Any]:
    return {"job_name": name, "static_configs": [{"targets": targets}]}


def config(rules: Path, scale: int, prometheus_url: str) -> dict[str, Any]:
    metrics = MetricsSettings()
    host = metrics.metrics_host
    gateway = "{}:{}".format(*host_port(Settings().gateway_url, 8000))
    jobs = [job("prometheus", ["{}:{}".format(*host_port(prometheus_url, 9090))])]
    jobs.append(job("gateway", [gateway]))
    jobs.append(job("admin", ["{}:{}".format(*host_port(Settings().admin_url, 8001))]))
    for program in PORTS:
        ports = [metrics.port(program, i) for i in range(scale)]
        if all(ports):
            jobs.append(job(program, [f"{host}:{port}" for port in ports]))
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=Path(__file__).with_name("alerts.yml"))
    args = parser.parse_args()
    scale = int(os.environ.get("SCALE") or 1)
    url = os.environ.get("PROMETHEUS_URL") or "http://127.0.0.1:9090"
    json.dump(config(args.rules.resolve(), scale, url), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
