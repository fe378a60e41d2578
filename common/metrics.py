"""Prometheus metrics shared by every worker process: where each one serves `/metrics`, and
the metrics more than one process records (outbound HTTP calls, dead letters).

Ports: each program has a base port (`PORTS`, overridable with `<PROGRAM>_METRICS_PORT`),
and instance `BILLING_INSTANCE` (0-based, < `INSTANCES_PER_PROGRAM`) of it listens on
base + instance, so N instances of one program on one host never collide and Prometheus's
targets are computable (`infra/prometheus/render.py`). Port 0 turns the endpoint off.

Labels are bounded: program, consumer and service names, operation templates with ids
replaced by `{id}`, HTTP codes. Never a payment, user or message id.

The default registry also carries prometheus-client's `process_*` (CPU, RSS, open fds) and
`python_*` collectors, which is why the servers here use it rather than a private one.
"""

import logging
import re
import time

from prometheus_client import Counter, Histogram, start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

INSTANCES_PER_PROGRAM = 10
# Base ports, INSTANCES_PER_PROGRAM apart. The gateway serves /metrics on its own port.
PORTS: dict[str, int] = {
    "processor-commands": 9110,
    "processor-webhooks": 9120,
    "outbox-relay": 9130,
    "reconciler": 9140,
    "consumer-subscriptions": 9150,
    "consumer-notifications": 9160,
    "scheduler": 9170,
    "access-reconciler": 9180,
}


class MetricsSettings(BaseSettings):
    """Where the worker processes serve `/metrics` (env vars, `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    metrics_host: str = "127.0.0.1"
    billing_instance: int = Field(default=0, ge=0, lt=INSTANCES_PER_PROGRAM)
    processor_commands_metrics_port: int = Field(default=PORTS["processor-commands"], ge=0)
    processor_webhooks_metrics_port: int = Field(default=PORTS["processor-webhooks"], ge=0)
    outbox_relay_metrics_port: int = Field(default=PORTS["outbox-relay"], ge=0)
    reconciler_metrics_port: int = Field(default=PORTS["reconciler"], ge=0)
    consumer_subscriptions_metrics_port: int = Field(default=PORTS["consumer-subscriptions"], ge=0)
    consumer_notifications_metrics_port: int = Field(default=PORTS["consumer-notifications"], ge=0)
    scheduler_metrics_port: int = Field(default=PORTS["scheduler"], ge=0)
    access_reconciler_metrics_port: int = Field(default=PORTS["access-reconciler"], ge=0)

    def base_port(self, program: str) -> int:
        """The program's base port; 0 (no endpoint) for a program not in `PORTS`, such as a
        test's crash-injecting copy of the relay."""
        if program not in PORTS:
            return 0
        port: int = getattr(self, f"{program.replace('-', '_')}_metrics_port")
        return port

    def port(self, program: str, instance: int | None = None) -> int:
        """The port of `program`'s instance (this process's by default); 0 = no endpoint."""
        base = self.base_port(program)
        return base + (self.billing_instance if instance is None else instance) if base else 0


def start_metrics_server(program: str, settings: MetricsSettings | None = None) -> int:
    """Serve the default registry on `program`'s port, in a daemon thread; the port, or 0.

    A port already taken (a test's private copy of a process next to the stack's) costs the
    endpoint, not the process: logged, and the process runs on without metrics.
    """
    settings = settings or MetricsSettings()
    port = settings.port(program)
    if not port:
        return 0
    try:
        start_http_server(port, addr=settings.metrics_host)
    except OSError as exc:
        log.error(
            "%s: /metrics not served on %s:%d (%s)", program, settings.metrics_host, port, exc
        )
        return 0
    log.info("%s: /metrics on http://%s:%d/metrics", program, settings.metrics_host, port)
    return port


# --- outbound HTTP: the provider, Auth, Notifications -------------------------------------

OUTBOUND_REQUESTS = Counter(
    "billing_outbound_requests",
    "Calls to the provider, Auth and Notifications by operation and result (HTTP code, "
    "'timeout' or 'connection_error'); one per attempt",
    ["service", "operation", "code"],
)
OUTBOUND_LATENCY = Histogram(
    "billing_outbound_request_duration_seconds",
    "Latency of calls to the provider, Auth and Notifications, per attempt",
    ["service", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{16,}|\d+)$")


def operation_template(method: str, path: str) -> str:
    """'GET /v3/payments/{id}': the method and the path with id-like segments templated, so
    that the labels stay bounded (a query string is left out)."""
    path = path.partition("?")[0]
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


def observe_outbound(service: str, operation: str, code: str, started: float) -> None:
    """One outbound attempt: its result (HTTP code, 'timeout', 'connection_error') and its
    latency since `started` (`time.perf_counter()`)."""
    OUTBOUND_LATENCY.labels(service, operation).observe(time.perf_counter() - started)
    OUTBOUND_REQUESTS.labels(service, operation, code).inc()


# --- consumers ------------------------------------------------------------------------------

DEAD_LETTERS = Counter(
    "billing_dead_letters",
    "Messages dead-lettered (billing.dlq.v1 + dead_letters row) by consumer",
    ["consumer"],
)

# --- processors -----------------------------------------------------------------------------

LEDGER_ANOMALIES = Counter(
    "billing_ledger_anomalies",
    "Provider objects not applied because their money contradicts our ledger "
    "(processors/apply.py `contradiction`), by kind: payment, refund, external_refund",
    ["kind"],
)

GAVE_UP = Counter(
    "billing_gave_up",
    "Payments and refunds ended `failed` because they could never progress "
    "(processors/give_up.py), by kind and reason",
    ["kind", "reason"],
)
