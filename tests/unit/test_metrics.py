"""common.metrics: the port scheme and the outbound-call metrics (fake transports only)."""

import socket

import httpx
import pytest
from prometheus_client import REGISTRY

from common.metrics import (
    PORTS,
    MeteredTransport,
    MetricsSettings,
    operation_of,
    service_by_origin,
    start_metrics_server,
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_instance_index_offsets_every_program_port_without_collisions() -> None:
    settings = MetricsSettings(billing_instance=3)
    assert settings.port("reconciler") == PORTS["reconciler"] + 3
    ports = [settings.port(p, i) for p in PORTS for i in range(10)]
    assert len(ports) == len(set(ports))


def test_program_port_is_overridable_and_zero_disables_the_endpoint() -> None:
    settings = MetricsSettings(outbox_relay_metrics_port=0, reconciler_metrics_port=19000)
    assert settings.port("outbox-relay") == 0
    assert settings.port("reconciler", 2) == 19002
    assert start_metrics_server("outbox-relay", settings) == 0


def test_a_program_without_a_port_serves_no_endpoint_and_still_starts() -> None:
    """A test's crash-injecting copy of the relay runs under its own name: it must start."""
    assert MetricsSettings().port("outbox-relay-crash") == 0
    assert start_metrics_server("outbox-relay-crash") == 0


def test_instance_beyond_the_port_spacing_is_refused() -> None:
    with pytest.raises(ValueError):
        MetricsSettings(billing_instance=10)


def test_a_taken_port_costs_the_endpoint_not_the_process() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = MetricsSettings(reconciler_metrics_port=port)
        assert start_metrics_server("reconciler", settings) == 0


def test_operation_templates_ids_so_labels_stay_bounded() -> None:
    request = httpx.Request("GET", "http://p/v3/payments/2f0c3a52-0000-4000-8000-1234567890ab")
    assert operation_of(request) == "GET /v3/payments/{id}"
    request = httpx.Request("DELETE", "http://a/api/v1/users/123/roles/subscriber")
    assert operation_of(request) == "DELETE /api/v1/users/{id}/roles/subscriber"


async def test_metered_transport_counts_results_by_code_and_observes_latency() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={})])
    inner = httpx.MockTransport(lambda _: next(answers))
    labels = {"service": "unit-ok", "operation": "POST /v3/payments"}
    async with httpx.AsyncClient(transport=MeteredTransport(inner, "unit-ok")) as client:
        await client.post("http://provider/v3/payments")
        await client.post("http://provider/v3/payments")
    assert sample("billing_outbound_requests_total", **labels, code="503") == 1
    assert sample("billing_outbound_requests_total", **labels, code="200") == 1
    assert sample("billing_outbound_request_duration_seconds_count", **labels) == 2


async def test_metered_transport_names_timeouts_and_refused_connections() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow", request=request)
        raise httpx.ConnectError("refused", request=request)

    transport = MeteredTransport(httpx.MockTransport(fail), "unit-fail")
    async with httpx.AsyncClient(transport=transport) as client:
        for path in ("/slow", "/down"):
            with pytest.raises(httpx.TransportError):
                await client.get(f"http://auth{path}")
    assert (
        sample(
            "billing_outbound_requests_total",
            service="unit-fail",
            operation="GET /slow",
            code="timeout",
        )
        == 1
    )
    assert (
        sample(
            "billing_outbound_requests_total",
            service="unit-fail",
            operation="GET /down",
            code="connection_error",
        )
        == 1
    )


def test_service_is_named_by_the_origin_it_reaches() -> None:
    name = service_by_origin({"http://127.0.0.1:8082": "auth", "http://127.0.0.1:8083/x": "notify"})
    assert name(httpx.Request("POST", "http://127.0.0.1:8083/api/v1/notifications")) == "notify"
    assert name(httpx.Request("POST", "http://127.0.0.1:8082/api/v1/users")) == "auth"
    assert name(httpx.Request("POST", "http://127.0.0.1:9999/")) == "other"
