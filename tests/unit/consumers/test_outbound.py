"""Outside calls are sorted into transient (retried) and permanent (dead-lettered) errors, and
each is sent as the service expects it (fakes: no HTTP)."""

import json
import logging

import aiohttp
import pytest
from prometheus_client import REGISTRY

from consumers.errors import PermanentError, TransientError
from consumers.outbound import Outbound, send


def client_answering(status: int, body: bytes = b"") -> Outbound:
    async def answer(method: str, url: str, data: bytes | None, headers: dict[str, str]):
        return status, body

    return Outbound(5.0, transport=answer)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_throttling_and_server_errors_are_transient(status: int) -> None:
    async with client_answering(status) as client:
        with pytest.raises(TransientError):
            await send(client, "POST", "http://auth.test/x")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_client_errors_are_permanent(status: int) -> None:
    async with client_answering(status, b'{"detail": "no such user"}') as client:
        with pytest.raises(PermanentError, match="no such user"):
            await send(client, "POST", "http://auth.test/x")


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError("no answer"),
        aiohttp.ServerDisconnectedError(),
    ],
)
async def test_connection_failures_and_timeouts_are_transient(error: Exception) -> None:
    async def refuse(method: str, url: str, data: bytes | None, headers: dict[str, str]):
        raise error

    async with Outbound(5.0, transport=refuse) as client:
        with pytest.raises(TransientError):
            await send(client, "DELETE", "http://auth.test/x")


async def test_success_returns_the_answer() -> None:
    async with client_answering(200, b'{"roles": ["subscriber"]}') as client:
        reply = await send(client, "GET", "http://auth.test/x")
    assert (reply.status, reply.json()) == (200, {"roles": ["subscriber"]})


async def test_a_json_body_is_sent_with_its_content_type_and_the_callers_headers() -> None:
    seen: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    async def record(method: str, url: str, data: bytes | None, headers: dict[str, str]):
        seen.append((method, url, data, headers))
        return 201, b""

    async with Outbound(5.0, transport=record) as client:
        await send(client, "POST", "http://a.test/r", {"role": "subscriber"}, {"X-A": "1"})
        await send(client, "DELETE", "http://a.test/r/subscriber")
    (m1, u1, d1, h1), (m2, _, d2, h2) = seen
    assert (m1, u1, json.loads(d1 or b"")) == ("POST", "http://a.test/r", {"role": "subscriber"})
    assert h1 == {"Content-Type": "application/json", "X-A": "1"}
    assert (m2, d2, h2) == ("DELETE", None, {})


async def test_every_answer_is_logged_as_httpx_logged_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consumers.outbound")
    async with client_answering(404) as client:
        with pytest.raises(PermanentError):
            await send(client, "DELETE", "http://auth.test/x")
    assert caplog.messages == ['HTTP Request: DELETE http://auth.test/x "HTTP/1.1 404 Not Found"']


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_every_call_is_counted_by_service_operation_and_code() -> None:
    answers = iter([503, 200])

    async def answer(method: str, url: str, data: bytes | None, headers: dict[str, str]):
        return next(answers), b"{}"

    labels = {"service": "unit-ok", "operation": "POST /api/v1/users/{id}/roles"}
    services = {"http://ok.test:8082": "unit-ok"}
    async with Outbound(5.0, services, transport=answer) as client:
        for _ in range(2):
            await client.request("POST", "http://ok.test:8082/api/v1/users/7/roles", json={})
    assert sample("billing_outbound_requests_total", **labels, code="503") == 1
    assert sample("billing_outbound_requests_total", **labels, code="200") == 1
    assert sample("billing_outbound_request_duration_seconds_count", **labels) == 2


async def test_timeouts_refusals_and_unknown_services_are_named() -> None:
    async def fail(method: str, url: str, data: bytes | None, headers: dict[str, str]):
        raise TimeoutError() if url.endswith("/slow") else ConnectionRefusedError()

    services = {"http://fail.test": "unit-fail"}
    async with Outbound(5.0, services, transport=fail) as client:
        for url in ("http://fail.test/slow", "http://fail.test/down", "http://elsewhere.test/x"):
            with pytest.raises(TransientError):
                await client.request("GET", url)
    counted = "billing_outbound_requests_total"
    assert sample(counted, service="unit-fail", operation="GET /slow", code="timeout") == 1
    assert sample(counted, service="unit-fail", operation="GET /down", code="connection_error") == 1
    assert sample(counted, service="other", operation="GET /x", code="connection_error") == 1
