"""The gateway in-process with no lifespan: nothing connects, so only what fails before any
I/O (auth, headers, body limits, parsing) is tested here; the rest is in integration/.

The rate limiter needs PostgreSQL and fails closed (503) without it, so `client` has one
that lets every POST through; `closed_client` keeps the real one.
"""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from gateway_unit_support import AUDIENCE, ISSUER, SECRET, TokenFactory, make_token

from gateway.app import create_app
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings


class NoLimit(RateLimiter):
    async def take(self, user_id: uuid.UUID, now: datetime | None = None) -> None:
        return None


@pytest.fixture
def settings() -> GatewaySettings:
    return GatewaySettings(
        _env_file=None,
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        database_url="postgresql://nobody:nothing@127.0.0.1:1/none",
        kafka_bootstrap_servers="127.0.0.1:1",
        gateway_max_body_bytes=4096,
    )


@pytest.fixture
async def client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    svc = app.state.services
    app.state.services = dataclasses.replace(svc, limiter=NoLimit(1, svc.db))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.fixture
async def closed_client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.fixture(name="make_token")
def make_token_fixture() -> TokenFactory:
    return make_token
