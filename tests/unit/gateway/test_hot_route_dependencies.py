"""The routes every payment flow calls solve as few dependencies as they can: FastAPI solves
each one on every request (≈ 10–15 µs each), and these routes carry most of the gateway's
requests (a POST, its status polls, the provider's webhook: docs/performance.md, round 11)."""

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.routes import payments, webhooks

HOT_ROUTES = {
    ("POST", "/api/v1/payments"): 2,  # the metered caller (token verified), the Idempotency-Key
    ("GET", "/api/v1/payments/{payment_id}"): 1,  # the caller
    ("POST", "/api/v1/webhooks/yookassa"): 0,
}


def _solved(dependant: Dependant) -> int:
    """Dependencies solved per request, sub-dependencies included (each one solved again
    wherever it appears, as FastAPI does before it looks in its per-request cache)."""
    return sum(1 + _solved(sub) for sub in dependant.dependencies)


def test_the_hot_routes_solve_one_dependency_per_thing_they_need() -> None:
    solved = {
        (method, route.path): _solved(route.dependant)
        for route in [*payments.router.routes, *webhooks.router.routes]
        if isinstance(route, APIRoute)
        for method in route.methods
        if (method, route.path) in HOT_ROUTES
    }
    assert solved == HOT_ROUTES
