"""Fault injection through the sandboxes' own hooks: ``POST/DELETE /sandbox/faults``.

The settings persist in each simulator, so a killed and restarted provider keeps
misbehaving until the harness says ``DELETE`` — which it retries until it sticks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.chaos.client import Client


@dataclass(frozen=True)
class FaultPlan:
    provider: dict[str, Any]
    auth: dict[str, Any]
    notify: dict[str, Any]

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        return [("provider", self.provider), ("auth", self.auth), ("notify", self.notify)]


def make_fault_plan(seed: int, intensity: float = 1.0) -> FaultPlan:
    """Faults a real provider and real neighbours show, scaled by `intensity` (0 = none)."""
    rng = random.Random(seed ^ 0xFA017)
    k = max(0.0, min(intensity, 2.0))
    provider = {
        "error_rate": round(0.08 * k, 3),
        "latency_ms": int(rng.choice([20, 50, 100]) * k),
        "timeout_after_commit_rate": round(0.03 * k, 3),
        "duplicate_webhook_rate": round(0.2 * k, 3),
        "drop_webhook_rate": round(0.1 * k, 3),
        "webhook_delay_ms": int(rng.choice([200, 500, 1000]) * k),
        "seed": seed,
    }
    neighbour = {"error_rate": round(0.15 * k, 3), "latency_ms": int(20 * k), "seed": seed}
    return FaultPlan(provider=provider, auth=neighbour, notify=dict(neighbour))


def _url(client: Client, service: str) -> str:
    base = {
        "provider": client.urls.provider,
        "auth": client.urls.auth,
        "notify": client.urls.notify,
    }
    return f"{base[service]}/sandbox/faults"


async def turn_on(client: Client, plan: FaultPlan) -> list[str]:
    """Set every service's faults; the names of the services that refused (empty: all set)."""
    refused = []
    for service, faults in plan.items():
        response = await client.send("POST", _url(client, service), json=faults)
        if response is None or response.status_code != 200:
            refused.append(f"{service}: {response and response.status_code}")
    return refused


async def turn_off(client: Client) -> list[str]:
    refused = []
    for service in ("provider", "auth", "notify"):
        response = await client.send("DELETE", _url(client, service))
        if response is None or response.status_code != 200:
            refused.append(f"{service}: {response and response.status_code}")
    return refused
