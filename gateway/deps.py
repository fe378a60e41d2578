"""FastAPI dependencies: the app's services, the Idempotency-Key header, the rate limit.

Dependencies run before the body is validated, so the order of answers is
401 (who?) → 429 (too often) → 400 (no key) → 422 (bad body).
"""

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Request

from gateway.auth import VerifiedTokens, current_user
from gateway.database import Database
from gateway.errors import IdempotencyKeyInvalid, IdempotencyKeyRequired
from gateway.metrics import Metrics
from gateway.plan_cache import PlanCache
from gateway.publisher import Publisher
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from gateway.webhook_limits import SourceLimiter

if TYPE_CHECKING:  # gateway.waiting reads payments, which needs Services: no import cycle
    from gateway.waiting import PaymentWaiters

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Services:
    settings: GatewaySettings
    db: Database
    publisher: Publisher
    metrics: Metrics
    limiter: RateLimiter
    waiters: "PaymentWaiters"
    webhook_limiter: SourceLimiter
    plans: PlanCache = field(default_factory=PlanCache)
    tokens: VerifiedTokens = field(default_factory=VerifiedTokens)


async def services(request: Request) -> Services:
    return request.app.state.services


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="1-255 printable characters"),
    ] = None,
) -> str:
    if key is None or key == "":
        raise IdempotencyKeyRequired()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid()
    return key


async def rate_limited_user(
    user_id: Annotated[uuid.UUID, Depends(current_user)],
    svc: Annotated[Services, Depends(services)],
) -> uuid.UUID:
    """The caller, once the POST passed their token bucket (shared by every gateway)."""
    await svc.limiter.take(user_id)
    return user_id


Svc = Annotated[Services, Depends(services)]
PostingUser = Annotated[uuid.UUID, Depends(rate_limited_user)]
IdempotencyKey = Annotated[str, Depends(idempotency_key)]
