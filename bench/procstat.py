"""CPU time and peak RSS of the stack's processes, read from /proc.

A program's CPU is that of its whole process tree: utime + stime + cutime + cstime of the
program's process and of every live descendant (PostgreSQL backends, uvicorn/gunicorn workers,
the JVM's threads are in its own figures). A descendant that exits between two readings is
not lost: its time moves into its parent's cutime/cstime when it is reaped.
"""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    cpu_ms: float
    hwm_mb: float
    processes: int


def stack_pids() -> dict[str, int]:
    """`NAME PID` of every running program, from `make -s ps` (the CONTRACT's listing)."""
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "ps"], check=True, capture_output=True, text=True
    ).stdout
    return {name: int(pid) for name, pid in (line.split() for line in out.splitlines() if line)}


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, cpu ms incl. reaped children) of one process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) * TICK_MS


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _all_stats() -> dict[int, tuple[int, float]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    return stats


def _tree(root: int, stats: dict[int, tuple[int, float]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def sample(pids: dict[str, int]) -> dict[str, Sample]:
    """CPU ms of each program's tree; peak RSS of its largest process (shared pages of
    PostgreSQL's backends would be counted again if they were summed)."""
    stats = _all_stats()
    out = {}
    for name, root in pids.items():
        tree = _tree(root, stats)
        out[name] = Sample(
            cpu_ms=sum(stats[pid][1] for pid in tree),
            hwm_mb=max((_hwm_mb(pid) for pid in tree), default=0.0),
            processes=len(tree),
        )
    return out


def delta(before: dict[str, Sample], after: dict[str, Sample]) -> dict[str, Sample]:
    """CPU spent between two samples; peak RSS and process count as of the later one."""
    return {
        name: Sample(a.cpu_ms - before[name].cpu_ms, a.hwm_mb, a.processes)
        for name, a in after.items()
        if name in before
    }
