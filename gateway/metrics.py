"""Prometheus metrics, one registry per app (so tests can build many apps side by side)."""

from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        ProcessCollector(registry=self.registry)  # process_*: CPU, RSS, fds, like the workers
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request latency by route template and method",
            ["method", "route"],
            registry=self.registry,
        )
        self.produced = Counter(
            "gateway_messages_produced",
            "Commands and notifications acked by Kafka",
            ["topic", "type"],
            registry=self.registry,
        )
        self.unavailable = Counter(
            "gateway_unavailable_responses",
            "503 answers by the dependency that was down",
            ["dependency"],
            registry=self.registry,
        )
