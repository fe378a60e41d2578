"""`make bench-post`'s wrk script: every request is a new payment, never a replay.

wrk runs the Lua script in one state per thread; with the same seed, both threads sent the
same (user, key) pairs whenever their n-th requests fell in the same second. Here wrk (a
system dependency of `make bench`) loads a loopback server that records what it receives.
"""

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import baselines


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway does
    seen: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.seen[(self.headers["Authorization"], self.headers["Idempotency-Key"])] += 1
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("mean_delay_ms", [0.0, 5.0])
def test_every_request_of_both_wrk_threads_has_its_own_key(
    server: str, mean_delay_ms: float
) -> None:
    load = baselines.gateway_post(server, ["a", "b", "c"], 1, 4, mean_delay_ms)
    repeated = {pair: n for pair, n in Recorder.seen.items() if n > 1}
    assert load.requests > 20 and sum(Recorder.seen.values()) >= load.requests
    assert repeated == {}
    assert {user for user, _ in Recorder.seen} == {"Bearer a", "Bearer b", "Bearer c"}
