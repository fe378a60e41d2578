"""Calls to the outside services (Auth, Notifications), with errors sorted for `delivery`.

Transport errors, timeouts, 5xx and 429 are transient; any other 4xx is permanent: the
same request will be refused the same way, so retrying only delays the dead letter.

The calls go straight to aiohttp's pool (`Outbound`, `common.http_session`), not through
httpx on top of it: each consumer makes one call per flow, and httpx's request
and response models, URL parsing, cookie and redirect handling cost as much CPU as aiohttp's
whole call (≈ 0.2 ms of ≈ 0.45 ms measured on the stack's Notify sandbox,
docs/performance.md, round 11). What the httpx path gave is kept: one INFO line per answer
(as httpx logged it), the `billing_outbound_*` metrics by service and operation, httpx's
per-phase timeouts. Every call says who it is (`User-Agent: billing-consumers`, as httpx sent
its own) and that it reads JSON; the answers are small, so no compression is asked for.
"""

import json as jsonlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from common.http_session import new_session
from common.metrics import observe_outbound, operation_template
from consumers.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

_NO_AUTO_HEADERS = ("Accept-Encoding", "Content-Type")
_HEADERS = {"User-Agent": "billing-consumers", "Accept": "application/json"}
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Reply:
    """An answer read whole: the services answer small JSON objects."""

    method: str
    url: str
    status: int
    body: bytes = b""

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


# (method, url, body, headers) -> (status, body); raises OSError, TimeoutError or
# aiohttp.ClientError when no answer came. Production: `Outbound`'s aiohttp session; unit
# tests pass a fake.
Transport = Callable[[str, str, bytes | None, dict[str, str]], Awaitable[tuple[int, bytes]]]


class Outbound:
    """One aiohttp session for a process's calls: a kept-alive connection per call in O(1),
    none reused after `KEEPALIVE_S` idle (below the servers' keep-alive, see
    `common.http_session`). `timeout` bounds the connect, the pool wait and each read,
    as httpx's `timeout=` did. `services` ({base URL: name}) labels the metrics."""

    def __init__(
        self,
        timeout: float,
        services: dict[str, str] | None = None,
        transport: Transport | None = None,
        max_connections: int = 100,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        self._services = {base.rstrip("/"): name for base, name in (services or {}).items()}
        self._transport = transport or self._aiohttp
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # made on the first call's loop

    async def request(
        self, method: str, url: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """The answer, whatever its status; `TransientError` when none came."""
        body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        sent = {**_JSON, **(headers or {})} if body is not None else dict(headers or {})
        service, operation = self._service(url), operation_template(method, urlsplit(url).path)
        started = time.perf_counter()
        try:
            status, answer = await self._transport(method, url, body, sent)
        except (OSError, TimeoutError, aiohttp.ClientError) as exc:
            result = "timeout" if isinstance(exc, TimeoutError) else "connection_error"
            observe_outbound(service, operation, result, started)
            raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        observe_outbound(service, operation, str(status), started)
        log.info('HTTP Request: %s %s "HTTP/1.1 %d %s"', method, url, status, _phrase(status))
        return Reply(method, url, status, answer)

    async def _aiohttp(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        session = self._session_now()
        async with session.request(
            method, url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
        ) as response:
            return response.status, await response.read()

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = new_session(
                self._max_connections,
                auto_decompress=True,
                headers=_HEADERS,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        return self._session

    def _service(self, url: str) -> str:
        for base, name in self._services.items():
            if url.startswith(base) and url[len(base) : len(base) + 1] in ("", "/", "?"):
                return name
        return "other"

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "Outbound":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def make_client(timeout: float, services: dict[str, str] | None = None) -> Outbound:
    """`services` ({base URL: name}) labels the calls' metrics by the service they reach."""
    return Outbound(timeout, services)


async def send(
    client: Outbound,
    method: str,
    url: str,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    reply = await client.request(method, url, json=json, headers=headers)
    check(reply)
    return reply


def check(reply: Reply) -> None:
    status = reply.status
    if status < 400:
        return
    detail = f"{reply.method} {reply.url} -> {status}: {reply.text[:200]}"
    if status == 429 or status >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
