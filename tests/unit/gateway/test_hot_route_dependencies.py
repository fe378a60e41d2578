"""The routes every payment flow calls solve as few dependencies and validate as few header
parameters as they can: FastAPI does both on every request (≈ 10–15 µs each), and these routes
carry most of the gateway's requests (a POST, its status polls, the provider's webhook:
docs/performance.md, round 11). The headers they read are documented all the same."""

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.app import create_app
from gateway.routes import payments, webhooks
from gateway.settings import GatewaySettings

HOT_ROUTES = {
    ("POST", "/api/v1/payments"): 2,  # the metered caller (token verified), the Idempotency-Key
    ("GET", "/api/v1/payments/{payment_id}"): 1,  # the caller
    ("POST", "/api/v1/webhooks/yookassa"): 0,
}


def _solved(dependant: Dependant) -> int:
    """Dependencies solved per request, sub-dependencies included (each one solved again
    wherever it appears, as FastAPI does before it looks in its per-request cache)."""
    return sum(1 + _solved(sub) for sub in dependant.dependencies)


def _header_parameters(dependant: Dependant) -> int:
    return len(dependant.header_params) + sum(map(_header_parameters, dependant.dependencies))


def _hot_routes() -> list[tuple[str, APIRoute]]:
    routes = [*payments.router.routes, *webhooks.router.routes]
    return [
        (method, route)
        for route in routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if (method, route.path) in HOT_ROUTES
    ]


def test_the_hot_routes_solve_one_dependency_per_thing_they_need() -> None:
    solved = {(method, route.path): _solved(route.dependant) for method, route in _hot_routes()}
    assert solved == HOT_ROUTES


def test_the_hot_routes_read_their_headers_without_a_parameter_to_validate() -> None:
    assert [_header_parameters(route.dependant) for _, route in _hot_routes()] == [0, 0, 0]


def test_the_headers_read_from_the_request_are_documented(settings: GatewaySettings) -> None:
    operation = create_app(settings).openapi()["paths"]["/api/v1/payments"]["post"]
    headers = {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"Prefer": False, "Idempotency-Key": True}
