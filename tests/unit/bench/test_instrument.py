"""The parts of `make bench` that turn raw readings into figures."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import procstat, profile, report
from bench.baselines import parse_wrk

WRK_OUT = """Running 10s test @ http://127.0.0.1:8000/bare
  2 threads and 64 connections
  Latency Distribution
     50%   31.40ms
     75%  151.30ms
     90%  773.55ms
     99%    1.41s \n  2265 requests in 2.05s, 309.67KB read
  Socket errors: connect 0, read 3, write 0, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:   1106.37
"""


def test_wrk_output_is_read_with_its_units() -> None:
    load = parse_wrk(WRK_OUT)
    assert (load.rps, load.p50_ms, load.p99_ms) == (1106.37, 31.4, 1410.0)
    assert (load.requests, load.non_2xx, load.socket_errors) == (2265, 7, 7)


def test_cpu_of_a_tree_includes_its_children_alive_and_reaped() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\n"
            f"subprocess.run([sys.executable, '-c', {burn!r}])\ntime.sleep(30)",
        ]
    )
    try:
        before = procstat.sample({"p": parent.pid})["p"]  # before the child exists
        _wait_for_tree(parent.pid, 2)  # the child runs…
        _wait_for_tree(parent.pid, 1)  # …and is reaped
        after = procstat.sample({"p": parent.pid})
        spent = procstat.delta({"p": before}, after)["p"]
        assert spent.cpu_ms >= 250  # the child's burn, reaped into the parent's cutime
        assert after["p"].hwm_mb > 0 and after["p"].processes == 1
    finally:
        parent.kill()
        parent.wait()


def _wait_for_tree(pid: int, processes: int) -> None:
    deadline = time.monotonic() + 15
    while procstat.sample({"p": pid})["p"].processes != processes:
        assert time.monotonic() < deadline, f"the tree never had {processes} processes"
        time.sleep(0.02)


def test_a_gone_process_reads_as_an_empty_tree() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert procstat.sample({"x": dead.pid})["x"].processes == 0


def test_profile_counts_self_frames_and_the_deepest_frame_of_ours(tmp_path: Path) -> None:
    raw = tmp_path / "gateway.txt"
    raw.write_text(
        "main (gateway/__main__.py);handle (gateway/payments.py);dumps (json/encoder.py) 6\n"
        "main (gateway/__main__.py);select (selectors.py) 2\n"
        "main (gateway/__main__.py);send (socket.py) 2\n"
    )
    top = profile.top_frames(raw)
    assert top["samples"] == 10 and top["idle_share"] == pytest.approx(0.2)
    assert top["top"][0] == ("dumps (json/encoder.py)", pytest.approx(0.75))
    assert top["ours"][0] == ("handle (gateway/payments.py)", pytest.approx(0.75))
    assert (profile.LOOP, pytest.approx(0.25)) in top["ours"]


def test_two_runs_compare_figure_by_figure(tmp_path: Path) -> None:
    runs = []
    for i, rate in enumerate((20.0, 30.0)):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps({"commit": f"c{i}", "flows": {"flows_per_s": rate}}))
        runs.append(path)
    assert report.flat(json.loads(runs[1].read_text())) == {"flows.flows_per_s": 30.0}
    table = report.compare(*runs)
    assert [c._cells for c in table.columns][1:] == [["20.00"], ["30.00"], ["1.50"]]


def test_this_process_is_found_in_its_own_tree() -> None:
    assert procstat.sample({"me": os.getpid()})["me"].processes >= 1


def test_a_program_not_known_as_infra_sandbox_or_monitoring_counts_as_ours() -> None:
    per_flow = {"gateway": 2.0, "scheduler": 1.0, "kafka": 5.0, "auth": 3.0, "prometheus": 0.5}
    assert report.groups(per_flow) == {
        "our Python processes": 3.0,
        "Kafka + PostgreSQL": 5.0,
        "sandbox (provider/auth/notify)": 3.0,
        "monitoring (prometheus)": 0.5,
    }
