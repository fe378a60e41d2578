"""Webhook intake limits without I/O: the documented production allowlist, the rate buckets,
the size limit, and the return_url origins."""

import re
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.errors import ForbiddenSource, RateLimited
from gateway.origins import return_url_allowed
from gateway.settings import DEFAULT_RETURN_URL_ORIGINS, GatewaySettings
from gateway.webhook_limits import SourceLimiter
from gateway.webhooks import check_source

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def documented_allowlist() -> str:
    found = re.search(r"^WEBHOOK_ALLOWED_NETWORKS=(\S+)$", DOC.read_text(), re.MULTILINE)
    assert found, "docs/security.md names no production WEBHOOK_ALLOWED_NETWORKS"
    return found.group(1)


def test_the_documented_yookassa_allowlist_is_a_valid_production_setting() -> None:
    settings = GatewaySettings(
        _env_file=None,  # type: ignore[call-arg]
        billing_env="production",
        jwt_secret="a-real-secret-from-the-vault-0123456789",  # type: ignore[arg-type]
        provider_secret_key="live_abc",  # type: ignore[arg-type]
        database_url="postgresql://billing:s3cret@db/billing",
        webhook_allowed_networks=documented_allowlist(),
    )
    networks = settings.webhook_networks()
    for sender in ("185.71.76.7", "77.75.156.35", "77.75.154.200", "2a02:5180::1"):
        check_source(sender, networks)
    for stranger in ("8.8.8.8", "127.0.0.1", "77.75.156.12", "::1", "not-an-ip", None):
        with pytest.raises(ForbiddenSource):
            check_source(stranger, networks)


def test_a_malformed_allowlist_stops_the_start() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        GatewaySettings(_env_file=None, webhook_allowed_networks="185.71.76.0/27,nonsense")  # type: ignore[call-arg]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_source_is_limited_without_spending_the_others_budget() -> None:
    clock = Clock()
    limiter = SourceLimiter(per_source_per_minute=3, total_per_minute=5, clock=clock)
    for _ in range(3):
        limiter.take("10.0.0.1")
    with pytest.raises(RateLimited) as limited:
        limiter.take("10.0.0.1")
    assert int(limited.value.headers["Retry-After"]) >= 1
    limiter.take("10.0.0.2")
    limiter.take("10.0.0.3")
    with pytest.raises(RateLimited):  # the total is spent: 5 accepted in all
        limiter.take("10.0.0.4")
    clock.now = 20.0  # one token a source per 20 s, 5 a minute in total
    limiter.take("10.0.0.1")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://cinema.example/thanks", True),
        ("https://CINEMA.example:443/x?y=1", True),
        ("http://localhost:3000/back", True),
        ("http://127.0.0.1/back", True),
        ("https://evil.example/", False),
        ("https://cinema.example.evil.example/", False),
        ("https://cinema.example@evil.example/", False),
        ("http://cinema.example/", False),
        ("https://cinema.example:8443/", False),
        ("https://localhost/", False),
        ("https://cinema.example:99999/", False),
    ],
)
def test_return_url_origins(url: str, allowed: bool) -> None:
    origins = [o.strip() for o in DEFAULT_RETURN_URL_ORIGINS.split(",")]
    assert return_url_allowed(url, origins) is allowed


async def test_a_webhook_over_its_own_limit_is_413_under_the_apis_limit(
    settings: GatewaySettings,
) -> None:
    app = create_app(settings.model_copy(update={"gateway_max_body_bytes": 64 * 1024}))
    transport = httpx.ASGITransport(app=app)
    raw = b'{"type": "notification", "pad": "' + b"x" * 17_000 + b'"}'
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post("/api/v1/webhooks/yookassa", content=raw)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def _sender(app: object, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def test_a_flood_from_one_source_gets_429_and_another_source_still_gets_through(
    settings: GatewaySettings,
) -> None:
    """Not-a-notification bodies (400): the budget is spent before the body is read."""
    limits = {"webhook_rate_per_source_per_minute": 5, "webhook_rate_total_per_minute": 8}
    app = create_app(settings.model_copy(update=limits))
    url = "/api/v1/webhooks/yookassa"
    async with _sender(app, "203.0.113.7") as noisy, _sender(app, "203.0.113.8") as other:
        flood = [(await noisy.post(url, content=b"{}")).status_code for _ in range(6)]
        last = await noisy.post(url, content=b"{}")
        from_other = [(await other.post(url, content=b"{}")).status_code for _ in range(4)]

    assert flood == [400] * 5 + [429]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert last.json()["error"]["code"] == "rate_limited"
    assert from_other == [400, 400, 400, 429]  # three more fit the total of 8, not four


async def test_many_sources_together_are_bounded_by_the_total(settings: GatewaySettings) -> None:
    limits = {"webhook_rate_per_source_per_minute": 5, "webhook_rate_total_per_minute": 8}
    app = create_app(settings.model_copy(update=limits))
    codes = []
    for n in range(1, 6):
        async with _sender(app, f"198.51.100.{n}") as sender:
            codes += [(await sender.post("/api/v1/webhooks/yookassa", content=b"{}")).status_code]
            codes += [(await sender.post("/api/v1/webhooks/yookassa", content=b"{}")).status_code]

    assert codes == [400] * 8 + [429] * 2
