"""Calls to the outside services (Auth, Notifications), with errors sorted for `delivery`.

Transport errors, timeouts, 5xx and 429 are transient; any other 4xx is permanent: the
same request will be refused the same way, so retrying only delays the dead letter.
"""

from typing import Any

import httpx

from common.aiohttp_transport import AiohttpTransport
from common.metrics import MeteredTransport, service_by_origin
from consumers.errors import PermanentError, TransientError


def make_client(timeout: float, services: dict[str, str] | None = None) -> httpx.AsyncClient:
    """`services` ({base URL: name}) labels the calls' metrics by the service they reach."""
    transport = MeteredTransport(AiohttpTransport(), service_by_origin(services or {}))
    return httpx.AsyncClient(timeout=timeout, transport=transport)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    try:
        response = await client.request(method, url, json=json, headers=headers)
    except httpx.TransportError as exc:  # connect, read, timeouts, protocol
        raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    check(response)
    return response


def check(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = f"{response.request.method} {response.request.url} -> {status}: {response.text[:200]}"
    if status == 429 or status >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)
