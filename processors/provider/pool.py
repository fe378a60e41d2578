"""An httpx transport whose connection pool costs O(1) syscalls per request, not O(connections).

httpcore 1.0's `AsyncConnectionPool._assign_requests_to_connections` runs on every request
start and end. For *every* pooled connection it calls `has_expired()`, which asks the socket
whether it is readable (`select` + anyio's `extra_attributes`, which also calls
`getpeername`), and for every idle one it counts the idle connections again (quadratic).
Profiled under the throughput benchmark (256 in flight) that was ~40–80% of the commands
processor's CPU, and it feeds on itself: the slower the client, the more connections sit
idle, the slower the client. Observed: 100–130 POST/s at 7–10 ms of client CPU each.

`LeanConnectionPool` keeps upstream's behaviour — HTTP/1.1 keep-alive reuse, the
`max_connections` / `max_keepalive_connections` limits, a server-closed or keep-alive-expired
connection is never reused — but checks expiry only on the connection it is about to hand
out, and sweeps the idle ones at most once a second.

httpcore also does `import sniffio` on each request; without sniffio installed that was a
failed import scanning `sys.path` every time, so the project depends on sniffio.
"""

import time
from typing import Any

import httpcore
import httpx

SWEEP_EVERY_S = 1.0


class LeanConnectionPool(httpcore.AsyncConnectionPool):
    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        connections = self._connections
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            self._clean(closing, check_expiry=True)
        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            connection = self._take(origin, closing)
            if connection is None and len(connections) >= self._max_connections:
                self._clean(closing, check_expiry=False)  # drop closed ones, surplus idle ones
            if connection is None and len(connections) >= self._max_connections:
                # upstream's third case: make room by closing an idle one of another origin
                other = next((c for c in connections if c.is_idle()), None)
                if other is None:
                    break  # nothing can be assigned until a request finishes
                connections.remove(other)
                closing.append(other)
            if connection is None:
                connection = self.create_connection(origin)
                connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _clean(self, closing: list[Any], *, check_expiry: bool) -> None:
        """Forget closed connections; close expired and surplus idle ones (upstream's rules)."""
        keep: list[Any] = []
        idle = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle():
                if (check_expiry and connection.has_expired()) or (
                    idle >= self._max_keepalive_connections
                ):
                    closing.append(connection)
                    continue
                idle += 1
            keep.append(connection)
        if len(keep) != len(self._connections):
            self._connections[:] = keep

    def _take(self, origin: httpcore.Origin, closing: list[Any]) -> Any:
        """The oldest available connection for `origin`, checked (one syscall) before reuse."""
        while True:
            candidates = (c for c in self._connections if c.is_available())
            connection = next((c for c in candidates if c.can_handle_request(origin)), None)
            if connection is None or not connection.has_expired():
                return connection
            # keep-alive expired or closed by the server: never reused
            self._connections.remove(connection)
            closing.append(connection)


class LeanTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` (same options, same exception mapping) on the lean pool."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if type(self._pool) is not httpcore.AsyncConnectionPool:  # e.g. a proxy was configured
            return
        self._pool.__class__ = LeanConnectionPool
