"""py-spy profiles of the stack's Python programs while the flows run (`make bench-profile`).

Each program is sampled by `py-spy record --nonblocking --gil --format raw`: collapsed stacks
of the thread holding the GIL (running Python), subprocesses included. Per program the table
keeps the functions where the samples *end* (self time) and the deepest frame of this
project's own code in each stack (where our code hands the CPU to a library), as shares of
the program's busy samples. Waits that still hold the GIL in a sample are counted as idle."""

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
OURS = (
    "gateway/",
    "processors/",
    "consumers/",
    "common/",
    "sandbox/",
    "schemas/",
    "admin_project/",
)
IDLE = (
    "select (selectors",
    "poll (selectors",
    "epoll",
    "Condition.wait (threading",
    "Arbiter.sleep (gunicorn",
)
# The outermost frames of our programs: a stack whose deepest frame of ours is one of these is
# the event loop or a library's own task (aiokafka's fetcher, uvicorn's protocol), not our code.
TOP_LEVEL = ("_run_loop (common/process.py)", "__main__.py)")


LOOP = "(event loop, library tasks)"


def python_programs(pids: dict[str, int]) -> dict[str, int]:
    out = {}
    for name, pid in pids.items():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if b"python" in cmdline:
            out[name] = pid
    return out


def start(programs: dict[str, int], directory: Path, rate: int) -> list[subprocess.Popen[bytes]]:
    directory.mkdir(parents=True, exist_ok=True)
    procs = []
    for name, pid in programs.items():
        cmd = [str(PY_SPY), "record", "--nonblocking", "--gil", "--subprocesses", "--nolineno"]
        cmd += ["--format", "raw", "--rate", str(rate), "-p", str(pid)]
        cmd += ["-o", str(directory / f"{name}.txt")]
        log = (directory / f"{name}.log").open("wb")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    for proc in procs:
        proc.wait(60)


def top_frames(collapsed: Path, n: int = 8) -> dict[str, object]:
    """The n leaf frames with most samples, idle waits counted apart."""
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        leaf = stack.rsplit(";", 1)[-1]
        total += samples
        if any(marker in leaf for marker in IDLE):
            idle += samples
        else:
            leaves[leaf] += samples
            ours[_deepest_own(stack)] += samples
    busy = max(total - idle, 1)
    return {
        "samples": total,
        "idle_share": idle / total if total else 0.0,
        "top": [(leaf, count / busy) for leaf, count in leaves.most_common(n)],
        "ours": [(frame, count / busy) for frame, count in ours.most_common(n)],
    }


def _deepest_own(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        if any(f"({package}" in frame or f"/{package}" in frame for package in OURS):
            return LOOP if any(top in frame for top in TOP_LEVEL) else frame
    return LOOP
