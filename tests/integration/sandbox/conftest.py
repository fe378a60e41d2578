"""Real simulator processes (``python -m sandbox.<name>``) on free ports; a webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
SHOP_ID, SECRET = "100500", "integration-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SimulatorProcess:
    """One ``python -m sandbox.<module>`` subprocess; ``kill9`` then ``start`` to restart it."""

    def __init__(self, module: str, url_var: str, env: dict[str, str], log: Path) -> None:
        self.module, self.log = module, log
        self.url = f"http://127.0.0.1:{free_port()}"
        self.env = {**os.environ, **env, url_var: self.url, "BILLING_ENV": "dev"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.module} did not become healthy")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


class WebhookReceiver:
    """Answers 500 for the first ``failures[object_id]`` deliveries of an object, then 200."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.received: list[tuple[float, dict[str, Any], int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/webhooks/yookassa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.answer(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, body: dict[str, Any]) -> int:
        with self.lock:
            object_id = body["object"]["id"]
            left = self.failures.get(object_id, 0)
            self.failures[object_id] = left - 1
            status = 500 if left > 0 else 200
            self.received.append((time.monotonic(), body, status))
            return status

    def deliveries(self, object_id: str) -> list[tuple[float, str, int]]:
        with self.lock:
            return [
                (t, b["event"], s) for t, b, s in self.received if b["object"]["id"] == object_id
            ]

    def wait_for(
        self, object_id: str, count: int, within_s: float = 15.0
    ) -> list[tuple[float, str, int]]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            found = self.deliveries(object_id)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{len(self.deliveries(object_id))} deliveries, want {count}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver()
    yield hooks
    hooks.server.shutdown()


def provider_process(tmp: Path, receiver: WebhookReceiver) -> SimulatorProcess:
    """The sandbox's own tests set its switches themselves: receipts are off unless a test
    asks (`fiscal`), also under `make test PROVIDER_RECEIPTS_REQUIRED=1`, which is for the
    stack's provider and our client's tests."""
    env = {
        "PROVIDER_RECEIPTS_REQUIRED": "0",
        "PROVIDER_DB_PATH": str(tmp / "provider.sqlite3"),
        "PROVIDER_WEBHOOK_URL": receiver.url,
        "PROVIDER_SHOP_ID": SHOP_ID,
        "PROVIDER_SECRET_KEY": SECRET,
    }
    return SimulatorProcess("sandbox.provider", "PROVIDER_URL", env, tmp / "provider.log")


@pytest.fixture(scope="module")
def provider_proc(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    proc = provider_process(tmp_path_factory.mktemp("provider"), receiver)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def provider(provider_proc: SimulatorProcess) -> Iterator[httpx.Client]:
    """A client of the shared provider process; faults are reset after every test."""
    auth = httpx.BasicAuth(SHOP_ID, SECRET)
    with httpx.Client(base_url=provider_proc.url, auth=auth, timeout=10) as client:
        yield client
        client.delete("/sandbox/faults")


def started_provider(
    tmp: Path, receiver: WebhookReceiver, **env: str
) -> Iterator[SimulatorProcess]:
    """A provider process with extra env, for the official-SDK suites."""
    proc = provider_process(tmp, receiver)
    proc.env.update(env)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def plain(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """A provider as ``make up`` runs it: receipts off, default clocks."""
    yield from started_provider(tmp_path_factory.mktemp("plain"), receiver)


@pytest.fixture(scope="module")
def fiscal(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """A 54-FZ shop: every payment and refund needs a receipt."""
    env = {"PROVIDER_RECEIPTS_REQUIRED": "1", "PROVIDER_RECEIPT_DELAY_S": "0.2"}
    yield from started_provider(tmp_path_factory.mktemp("fiscal"), receiver, **env)


@pytest.fixture(scope="module")
def timers(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """Short clocks: unpaid payments expire after 1 s, pending refunds settle after 0.3 s."""
    env = {
        "PROVIDER_PENDING_EXPIRY_S": "1",
        "PROVIDER_REFUND_SETTLE_S": "0.3",
        "PROVIDER_SWEEP_INTERVAL_S": "0.1",
    }
    yield from started_provider(tmp_path_factory.mktemp("timers"), receiver, **env)
