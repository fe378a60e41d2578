"""The table `make bench` prints, its JSON under .run/bench/, and the comparison of two runs."""

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

INFRA = ("kafka", "postgres")
SANDBOX = ("provider", "auth", "notify")
MONITORING = ("prometheus",)
# Every other program of `make -s ps` is one of ours (gateway, processors, consumers, relay,
# reconcilers, scheduler, admin), so a new program is counted without a change here.
NOT_OURS = INFRA + SANDBOX + MONITORING


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def groups(per_flow: dict[str, float]) -> dict[str, float]:
    return {
        "our Python processes": sum(ms for n, ms in per_flow.items() if n not in NOT_OURS),
        "Kafka + PostgreSQL": sum(per_flow.get(n, 0.0) for n in INFRA),
        "sandbox (provider/auth/notify)": sum(per_flow.get(n, 0.0) for n in SANDBOX),
        "monitoring (prometheus)": sum(per_flow.get(n, 0.0) for n in MONITORING),
    }


def table(result: dict[str, Any]) -> Table:
    f, b = result["flows"], result["baselines"]
    t = Table(title=f"make bench — {result['started']} — commit {result['commit']}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("peak RSS MB", justify="right")
    t.add_column("idle % core", justify="right")
    load = (result.get("loadavg_1m_before"), result.get("loadavg_1m_after_flows"))
    t.add_row("box load average (1 min) before / after the flows", " / ".join(map(_f, load)))
    t.add_row("full flows/s", _f(f["flows_per_s"]), "")
    t.add_row("flows done / failed", f"{f['flows']} / {f['failed']}", "")
    for error, count in f.get("errors", {}).items():
        t.add_row(f"  failed: {error[:90]}", str(count), "", style="red")
    t.add_row("flow p50 / p99 ms", f"{_f(f['flow_p50_ms'], 0)} / {_f(f['flow_p99_ms'], 0)}", "")
    for mode, label in (("wait", "with Prefer: wait=10"), ("no_wait", "without Prefer")):
        p50, p99 = f[f"accept_{mode}_p50_ms"], f[f"accept_{mode}_p99_ms"]
        t.add_row(f"accept {label} p50 / p99 ms", f"{_f(p50, 0)} / {_f(p99, 0)}", "")
    t.add_section()
    for name, ms in sorted(result["cpu_ms_per_flow"].items(), key=lambda kv: -kv[1]):
        procs = result["processes"][name]
        idle = result.get("idle_cpu_pct", {}).get(name)
        t.add_row(
            f"CPU ms/flow {name} ({procs} proc)", _f(ms, 2), _f(result["rss_mb"][name]), _f(idle, 2)
        )
    idle_groups = groups(result.get("idle_cpu_pct", {}))
    for group, ms in groups(result["cpu_ms_per_flow"]).items():
        t.add_row(f"CPU ms/flow {group}", _f(ms, 2), "", _f(idle_groups[group], 2), style="bold")
    t.add_row("CPU ms/flow load generator (this script)", _f(result["loadgen_cpu_ms_per_flow"], 2))
    t.add_section()
    _baseline_rows(t, b)
    return t


def _baseline_rows(t: Table, b: dict[str, Any]) -> None:
    for key, label in (("bare", "bare FastAPI + JWT"), ("post", "POST /api/v1/payments alone")):
        if key in b:
            w = b[key]
            t.add_row(
                f"{label}: req/s (p50 / p99 ms, non-2xx)",
                f"{_f(w['rps'])} ({_f(w['p50_ms'])} / {_f(w['p99_ms'])}, {w['non_2xx']})",
            )
    if "bare" in b and "post" in b:
        t.add_row("POST / bare", f"{100 * b['post']['rps'] / b['bare']['rps']:.1f} %")
    if "kafka" in b:
        t.add_row("raw aiokafka produce → consume msgs/s", _f(b["kafka"]["msgs_per_s"], 0))
    for row in b.get("throughput", []):
        t.add_row(
            f"bench.throughput {row['mode']}: pay/s (p99 ms; processor CPU ms/payment)",
            f"{_f(row['rate'])} ({_f(row['p99_ms'], 0)}; {_f(row.get('cpu_ms_per_payment'), 2)})",
            _f(row["rss_mb"]),
        )


def profile_table(profiles: dict[str, Any]) -> Table:
    t = Table(title="py-spy: where each Python program's busy samples end (self) / leave our code")
    for col in ("program", "samples", "top self frames", "deepest frames of ours"):
        t.add_column(col)
    for name, p in sorted(profiles.items(), key=lambda kv: -kv[1]["samples"]):
        self_ = "\n".join(f"{share:5.1%} {frame[:70]}" for frame, share in p["top"][:6])
        ours = "\n".join(f"{share:5.1%} {frame[:70]}" for frame, share in p["ours"][:6])
        t.add_row(name, str(p["samples"]), self_, ours)
        t.add_section()
    return t


def save(result: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result['started'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True))
    return path


def flat(result: dict[str, Any]) -> dict[str, float]:
    """Every comparable number of a run, by a dotted name."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[prefix] = float(value)

    walk("", {k: v for k, v in result.items() if k != "processes"})
    return out


def compare(a_path: Path, b_path: Path) -> Table:
    a, b = (json.loads(p.read_text()) for p in (a_path, b_path))
    fa, fb = flat(a), flat(b)
    t = Table(title=f"{a_path.name} ({a['commit']}) → {b_path.name} ({b['commit']})")
    for col in ("figure", "A", "B", "B / A"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for key in sorted(fa.keys() & fb.keys()):
        ratio = fb[key] / fa[key] if fa[key] else float("nan")
        t.add_row(key, _f(fa[key], 2), _f(fb[key], 2), _f(ratio, 2))
    return t


def show(renderable: Table) -> None:
    Console(width=180).print(renderable)
