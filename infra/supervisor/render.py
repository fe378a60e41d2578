"""Renders the supervisord program files for the stack's shape: SCALE and KAFKA_BROKERS.

The templates are `infra/supervisor/conf.d/*.conf` (one per program, as written by hand);
supervisord reads the rendered copies in `.run/supervisor/conf.d/`. With SCALE=1 and
KAFKA_BROKERS=1 the copies equal the templates, plus `BILLING_INSTANCE=0` for the scalable
programs, so process names stay exactly those of CONTRACT §1.

* SCALE=N > 1: every scalable program (the gateway, the relay, the reconciler, any
  scheduler, every `processor-*` and `consumer-*`) runs N instances through supervisord's
  `numprocs`: `processor-commands-1` … `processor-commands-N`, each with its own log and
  `BILLING_INSTANCE=<n>` in its environment (0 for the one instance of SCALE=1, else 1..N:
  common/metrics.py listens on base + BILLING_INSTANCE, so every instance has its port).
* KAFKA_BROKERS=3: the `kafka` program becomes `kafka-1` … `kafka-3` (`KAFKA_NODE_ID`,
  `KAFKA_CLUSTER_SIZE`), and every program gets the whole bootstrap list.

* PROVIDER_RECEIPTS_REQUIRED=1: the sandbox provider is a 54-FZ shop that refuses a payment
  or refund without a valid receipt (CONTRACT §4). It is rendered into the `provider`
  program's environment (always, 0 or 1, so no value inherited by supervisord wins), so
  `make up PROVIDER_RECEIPTS_REQUIRED=1` on a running stack restarts only the provider.

The shape is remembered in `.run/stack.env` so a later `make up` without SCALE keeps it;
`make down` forgets it. Prints the shell assignments `infra/bin/up` evaluates.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SCALABLE_NAMES = frozenset({"gateway", "outbox-relay", "reconciler", "scheduler"})
SCALABLE_PREFIXES = ("processor-", "consumer-")
MAX_SCALE = 9  # instance ports are base + BILLING_INSTANCE, ten apart (common/metrics.py)
BROKER_COUNTS = (1, 3)
_SECTION = re.compile(r"^\[program:([^\]]+)\]\s*$", re.MULTILINE)
_ENVIRONMENT = re.compile(r"^environment\s*=\s*(.*)$", re.MULTILINE)
_LOGFILE = re.compile(r"^(stdout_logfile\s*=.*/)([^/\n]+)\.log\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Shape:
    scale: int = 1
    kafka_brokers: int = 1
    bootstrap: str = "127.0.0.1:9092"
    receipts_required: bool = False

    def brokers(self) -> list[str]:
        """`127.0.0.1:9092,127.0.0.1:9094,…`: node n listens on the first port + 2(n-1)."""
        host, port = self.bootstrap.split(",")[0].rsplit(":", 1)
        return [f"{host}:{int(port) + 2 * i}" for i in range(self.kafka_brokers)]

    @property
    def replication_factor(self) -> int:
        return min(3, self.kafka_brokers)


def scalable(program: str) -> bool:
    return program in SCALABLE_NAMES or program.startswith(SCALABLE_PREFIXES)


def render_program(name: str, body: str, shape: Shape) -> str:
    """One `[program:name]` section (header included) for this shape."""
    count, env = 1, {}
    if scalable(name):
        count, env = shape.scale, {"BILLING_INSTANCE": "%(process_num)d"}
    elif name == "kafka":
        count = shape.kafka_brokers
        env = {"KAFKA_NODE_ID": "%(process_num)d", "KAFKA_CLUSTER_SIZE": str(count)}
    if name == "provider":
        env["PROVIDER_RECEIPTS_REQUIRED"] = str(int(shape.receipts_required))
    if shape.kafka_brokers > 1:
        env["KAFKA_BOOTSTRAP_SERVERS"] = ",".join(shape.brokers())
    if count > 1:
        body = _LOGFILE.sub(r"\1%(program_name)s-%(process_num)d.log", body)
    return _with_environment(body, env) + _numbering(count, name == "kafka")


def _numbering(count: int, kafka: bool) -> str:
    """One instance: BILLING_INSTANCE=0 (common/metrics.py's base port). Several: -1 … -N and
    BILLING_INSTANCE=1..N (base+1 … base+N: distinct). Kafka nodes are 1-based always."""
    lines = []
    if count > 1 or kafka:
        lines.append("numprocs_start=1\n")
    if count > 1:
        lines += [f"numprocs={count}\n", "process_name=%(program_name)s-%(process_num)d\n"]
    return "".join(lines)


def _with_environment(body: str, env: dict[str, str]) -> str:
    if not env:
        return body
    pairs = ",".join(f'{key}="{value}"' for key, value in env.items())
    found = _ENVIRONMENT.search(body)
    if found is None:
        return body.rstrip("\n") + f"\nenvironment={pairs}\n"
    start, end = found.span(1)
    return body[:start] + f"{found.group(1)},{pairs}" + body[end:]


def render_file(text: str, shape: Shape) -> str:
    """A whole conf file: text before the first section is kept, each program rendered."""
    parts = _SECTION.split(text)
    out = [parts[0]]
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        out.append(f"[program:{name}]" + render_program(name, body, shape))
    return "".join(out)


def render_all(templates: Path, target: Path, shape: Shape) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path for path in sorted(templates.glob("*.conf"))}
    for stale in target.glob("*.conf"):
        if stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        rendered = render_file(path.read_text(), shape)
        out = target / name
        if not out.exists() or out.read_text() != rendered:
            out.write_text(rendered)
    return sorted(wanted)


def _int_setting(name: str, remembered: dict[str, str]) -> int:
    return int(os.environ.get(name) or remembered.get(name) or 1)


def _flag_setting(name: str, remembered: dict[str, str]) -> bool:
    value = os.environ.get(name) or remembered.get(name) or "0"
    return value.strip().lower() in {"1", "true", "on", "yes"}


def resolve_shape(state: Path) -> Shape:
    """SCALE / KAFKA_BROKERS / PROVIDER_RECEIPTS_REQUIRED from the environment, else what the
    running stack has, else 1, 1 and 0."""
    remembered: dict[str, str] = {}
    if state.exists():
        for line in state.read_text().splitlines():
            key, _, value = line.partition("=")
            remembered[key.strip()] = value.strip()
    shape = Shape(
        scale=_int_setting("SCALE", remembered),
        kafka_brokers=_int_setting("KAFKA_BROKERS", remembered),
        bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092",
        receipts_required=_flag_setting("PROVIDER_RECEIPTS_REQUIRED", remembered),
    )
    if not 1 <= shape.scale <= MAX_SCALE:
        raise SystemExit(f"SCALE={shape.scale}: want 1..{MAX_SCALE}")
    if shape.kafka_brokers not in BROKER_COUNTS:
        raise SystemExit(f"KAFKA_BROKERS={shape.kafka_brokers}: want one of {BROKER_COUNTS}")
    return shape


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(os.environ.get("BILLING_ROOT") or Path(__file__).resolve().parents[2])
    parser.add_argument("--templates", type=Path, default=root / "infra/supervisor/conf.d")
    parser.add_argument("--run", type=Path, default=root / ".run")
    args = parser.parse_args()
    shape = resolve_shape(args.run / "stack.env")
    render_all(args.templates, args.run / "supervisor" / "conf.d", shape)
    (args.run / "stack.env").write_text(
        f"SCALE={shape.scale}\nKAFKA_BROKERS={shape.kafka_brokers}\n"
        f"PROVIDER_RECEIPTS_REQUIRED={int(shape.receipts_required)}\n"
    )
    print(f"SCALE={shape.scale}")
    print(f"KAFKA_BROKERS={shape.kafka_brokers}")
    print(f"KAFKA_REPLICATION_FACTOR={shape.replication_factor}")
    print(f"KAFKA_BOOTSTRAP_SERVERS={','.join(shape.brokers())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
