"""A careful API client: on an error or a timeout it asks again with the same Idempotency-Key.

It never gives up on a request it may have sent (that is how operations get lost), only at
the run's deadline; 4xx answers other than 401/408/429 are final. Every attempt is counted.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.stack import StackUrls

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 3.0


@dataclass
class Counters:
    requests: int = 0
    retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Client:
    http: httpx.AsyncClient
    urls: StackUrls
    deadline: float  # loop time after which nothing is retried
    rng: random.Random
    counters: Counters = field(default_factory=Counters)
    _tokens: dict[uuid.UUID, str] = field(default_factory=dict)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """The first final answer, or None if the deadline passed without one."""
        attempt = 0
        while self.now() < self.deadline:
            if attempt:
                self.counters.retries += 1
            response = await self._attempt(method, url, **kwargs)
            attempt += 1
            if response is not None and response.status_code not in RETRY_STATUSES:
                return response
            await asyncio.sleep(self._backoff(attempt, response))
        return None

    async def _attempt(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        self.counters.requests += 1
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            self.counters.transport_errors[exc.__class__.__name__] += 1
            return None
        self.counters.statuses[response.status_code] += 1
        return response

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            return min(float(response.headers["Retry-After"]), MAX_BACKOFF_S * 2)
        return min(MAX_BACKOFF_S, 0.1 * 2**attempt) * (0.5 + self.rng.random())

    async def token(self, user_id: uuid.UUID, fresh: bool = False) -> str | None:
        if fresh or user_id not in self._tokens:
            response = await self.send(
                "POST", f"{self.urls.auth}/api/v1/token", json={"user_id": str(user_id)}
            )
            if response is None or response.status_code != 200:
                return None
            self._tokens[user_id] = str(response.json()["access_token"])
        return self._tokens[user_id]

    async def api(
        self, method: str, user_id: uuid.UUID, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """A gateway call as `user_id`; a 401 (say, an expired token) is retried once, fresh."""
        for fresh in (False, True):
            token = await self.token(user_id, fresh=fresh)
            if token is None:
                return None
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
            response = await self.send(
                method, f"{self.urls.gateway}{path}", headers=headers, **kwargs
            )
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if response is None or response.status_code != 401:
                return response
        return response
