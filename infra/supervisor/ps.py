"""Prints `NAME PID` for every running program of the stack, and nothing else.

The CONTRACT promises exactly these lines from `make -s ps`, so this reads supervisord's
XML-RPC interface over its unix socket instead of parsing `supervisorctl status` text.
Exit status 3 (and a message on stderr) when supervisord is not running.
"""

import os
import sys
import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport


def running_programs(socket_path: Path) -> list[tuple[str, int]]:
    transport = SupervisorTransport(None, None, f"unix://{socket_path}")
    proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
    infos: list[dict[str, Any]] = proxy.supervisor.getAllProcessInfo()  # type: ignore[assignment]
    return [(info["name"], info["pid"]) for info in infos if info["statename"] == "RUNNING"]


def main() -> int:
    root = Path(os.environ.get("BILLING_ROOT") or Path(__file__).resolve().parents[2])
    try:
        programs = running_programs(root / ".run" / "supervisor.sock")
    except OSError as exc:
        print(f"the stack is not running ({exc}); start it with `make up`", file=sys.stderr)
        return 3
    for name, pid in programs:
        print(name, pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
