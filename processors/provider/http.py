"""The provider client's HTTP layer: one aiohttp session, keep-alive HTTP/1.1, metered.

The session is `common.http_session`'s, like every outbound caller's: no cookies, and an idle
connection given up before the server's keep-alive closes it.

aiohttp's `TCPConnector` hands out a kept-alive connection in O(1) (a per-host deque of idle
ones; an idle connection past its keep-alive, or one the server closed, is never reused) and
makes callers beyond `limit` wait in a FIFO queue. httpx/httpcore 1.0 instead scanned every
pooled connection on each request start and end (O(connections), with a syscall per
connection), which `bench.http_clients` measured at ~2 ms of client CPU per request with a
private-API patch and ~6.5 ms without, against ~0.3 ms here.

`HttpAnswer` is what the client reads from an answer: status, headers, the raw body (read
whole here, inside the timeout). Every attempt is counted in `billing_outbound_*` like the
consumers' calls (`common.metrics`). Transport failures come out as `ProviderHttpError`
(`timeout` or `connection_error`), which the client treats as transient.
"""

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from common.http_session import new_session
from common.metrics import observe_outbound, operation_template

SERVICE = "provider"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


class ProviderHttpError(Exception):
    """No answer: `kind` is 'timeout' or 'connection_error'."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class ProviderHttp:
    """Keep-alive connections to one base URL, at most `max_connections` of them (the callers
    beyond wait in aiohttp's queue; the wait is inside each call's timeout)."""

    def __init__(
        self, base_url: str, authorization: str, max_connections: int, timeout_s: float
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": authorization}
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None  # made on the first call's loop

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float | None = None,
    ) -> HttpAnswer:
        operation, started = operation_template(method, path), time.perf_counter()
        try:
            answer = await self._send(method, path, body, headers, timeout_s)
        except TimeoutError as exc:
            observe_outbound(SERVICE, operation, "timeout", started)
            raise ProviderHttpError("timeout", f"no answer in time ({exc!r})") from exc
        except aiohttp.ClientError as exc:
            observe_outbound(SERVICE, operation, "connection_error", started)
            raise ProviderHttpError("connection_error", f"{type(exc).__name__}: {exc}") from exc
        observe_outbound(SERVICE, operation, str(answer.status), started)
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float | None,
    ) -> HttpAnswer:
        timeout = self._timeout if timeout_s is None else aiohttp.ClientTimeout(total=timeout_s)
        async with self._session_now().request(
            method, self._base_url + path, json=body, headers=headers, timeout=timeout
        ) as response:
            return HttpAnswer(response.status, response.headers, await response.read())

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = new_session(
                self._max_connections, headers=self._headers, timeout=self._timeout
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await asyncio.sleep(0)  # let the closed transports finish (aiohttp's advice)


def basic_authorization(shop_id: str, secret_key: str) -> str:
    return aiohttp.encode_basic_auth(shop_id, secret_key)
