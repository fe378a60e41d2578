"""Outside calls are sorted into transient (retried) and permanent (dead-lettered) errors."""

import httpx
import pytest

from consumers.errors import PermanentError, TransientError
from consumers.outbound import send


def client_answering(status: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(status)))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_throttling_and_server_errors_are_transient(status: int) -> None:
    async with client_answering(status) as client:
        with pytest.raises(TransientError):
            await send(client, "POST", "http://auth.test/x")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_client_errors_are_permanent(status: int) -> None:
    async with client_answering(status) as client:
        with pytest.raises(PermanentError):
            await send(client, "POST", "http://auth.test/x")


async def test_connection_failures_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(TransientError):
            await send(client, "DELETE", "http://auth.test/x")


async def test_success_returns_the_response() -> None:
    async with client_answering(204) as client:
        assert (await send(client, "POST", "http://auth.test/x")).status_code == 204
