"""The load generator's HTTP client: aiohttp's pool, with the few calls of httpx's API that the
flow helpers and the watcher make (`tests.stack.client.Client`).

httpx's API on aiohttp's pool spent ~0.2 ms of CPU per request in httpx's own layer (request
and URL objects, cookie extraction, headers), as much again as aiohttp itself; at ~7 requests
per flow that was a third of the generator's CPU (docs/performance.md, round 11). The session
is `common.http_session`'s: a connection idle longer than `KEEPALIVE_S` is not reused
(uvicorn closes it at 5 s).
"""

import json as jsonlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp

from common.http_session import new_session


class StatusError(RuntimeError):
    """`raise_for_status` of a 4xx/5xx answer."""


class Answer:
    __slots__ = ("content", "status_code", "url")

    def __init__(self, status_code: int, content: bytes, url: str) -> None:
        self.status_code, self.content, self.url = status_code, content, url

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> "Answer":
        if self.status_code >= 400:
            raise StatusError(f"HTTP {self.status_code} from {self.url}: {self.text[:200]}")
        return self


class LeanClient:
    """`async with LeanClient(max_connections, timeout_s) as http`: get/post read the answer
    whole; connection failures raise `aiohttp.ClientError`, timeouts `TimeoutError`."""

    def __init__(self, max_connections: int = 100, timeout_s: float = 30) -> None:
        self._limits = (max_connections, aiohttp.ClientTimeout(total=timeout_s))
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "LeanClient":
        limit, timeout = self._limits
        self._session = new_session(limit, timeout=timeout)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        query = None if params is None else {k: str(v) for k, v in params.items()}
        return await self._send("GET", url, params=query, headers=headers)

    async def post(
        self, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        return await self._send("POST", url, json=json, headers=headers)

    async def _send(self, method: str, url: str, **kwargs: Any) -> Answer:
        if self._session is None:
            raise RuntimeError("LeanClient used outside `async with`")
        async with self._session.request(method, url, allow_redirects=False, **kwargs) as r:
            return Answer(r.status, await r.read(), url)
