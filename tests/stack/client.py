"""What the flow helpers need of an HTTP client: `httpx.AsyncClient` has it, and so has the
load generator's lean client on aiohttp (bench/lean_http.py), which costs half the CPU per
request (docs/performance.md, round 11)."""

from collections.abc import Mapping
from typing import Any, Protocol


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...

    def raise_for_status(self) -> object: ...


class Client(Protocol):
    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer: ...

    async def post(
        self, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer: ...
