"""common.metrics: the port scheme and the outbound calls' operation labels (what the
consumers' calls record is tested with them: tests/unit/consumers/test_outbound.py)."""

import socket

import pytest

from common.metrics import PORTS, MetricsSettings, operation_template, start_metrics_server


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
    path = "/v3/payments/2f0c3a52-0000-4000-8000-1234567890ab?x=1"
    assert operation_template("GET", path) == "GET /v3/payments/{id}"
    path = "/api/v1/users/123/roles/subscriber"
    assert operation_template("DELETE", path) == "DELETE /api/v1/users/{id}/roles/subscriber"
