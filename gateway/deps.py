"""FastAPI dependencies: the app's services, the Idempotency-Key header, the rate limit.

Dependencies run before the body is validated, so the order of answers is
401 (who?) → 429 (too often) → 400 (no key) → 422 (bad body).

`POST /api/v1/payments` keeps that order with its token taken later (`Meter`): by the
payment's own statement when the request gets that far, else by the error handler before it
answers 400 or 422 (`gateway.app`), which answers 429 (or 503) instead when the bucket says so.
A body that is not JSON (or not UTF-8) is the exception FastAPI makes: it refuses it before
any dependency runs, so the error handler runs their checks first (`refusal_before_the_body`).

The hot routes make the same calls themselves for the request that passes them all
(`gateway.presolved`); any other request is solved by FastAPI as above.
"""

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.accept_batches import AcceptBatches
from gateway.auth import VerifiedTokens, current_user, email_claim, request_claims, subject
from gateway.database import Database
from gateway.errors import GatewayError, IdempotencyKeyInvalid, IdempotencyKeyRequired
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
    accepts: AcceptBatches  # the accept statements of concurrent POSTs, run as one
    waiters: "PaymentWaiters"
    webhook_limiter: SourceLimiter
    plans: PlanCache = field(default_factory=PlanCache)
    tokens: VerifiedTokens = field(default_factory=VerifiedTokens)


async def services(request: Request) -> Services:
    return services_of(request)


def services_of(request: Request) -> Services:
    """The app's services, for the hot routes (`POST /payments`, `GET /payments/{id}`, the
    webhook), which take `request` instead of `Svc`: FastAPI solves each dependency on every
    request (≈ 10–15 µs each), and a `Request` parameter costs nothing to solve."""
    svc: Services = request.app.state.services
    return svc


async def idempotency_key(request: Request) -> str:
    """The `Idempotency-Key` header, 400 when missing or malformed. Read from the request
    rather than declared as a `Header` parameter, which FastAPI would look up and validate
    again on every request (≈ 13 µs); `gateway.openapi` documents it (`IDEMPOTENCY_KEY`) on
    every operation that depends on this."""
    return checked_key(request.headers.get("idempotency-key"))


def checked_key(key: str | None) -> str:
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


@dataclass
class Meter:
    """A POST whose rate-limit token is still to be taken, once: `taken` when it was; with
    the token's `email` claim (`auth.email_claim`: 54-FZ receipts need a contact)."""

    user_id: uuid.UUID
    email: str | None = None
    taken: bool = False


async def metered_user(request: Request) -> Meter:
    """The caller (401 as `current_user`), with their token still in the bucket (see the
    module's docstring). One dependency, not one per claim: each costs a solve per request."""
    return metering(request, caller_meter(request))


def caller_meter(request: Request) -> Meter:
    """The caller's `Meter` (401 as `current_user`), not yet the request's (`metering`)."""
    claims = request_claims(request)
    return Meter(subject(claims.get("sub")), email_claim(claims.get("email")))


def metering(request: Request, meter: Meter) -> Meter:
    """`meter` as the request's: from now on a refusal takes its token first."""
    request.state.meter = meter
    return meter


async def take_before_refusing(request: Request, svc: Services) -> None:
    """For the error handlers: the token of a metered POST refused before it was taken
    (`RateLimited` or `DatabaseUnavailable` when the bucket says no or cannot be read)."""
    meter: Meter | None = getattr(request.state, "meter", None)
    if meter is not None and not meter.taken:
        meter.taken = True
        await svc.limiter.take(meter.user_id)


async def refusal_before_the_body(request: Request) -> GatewayError | None:
    """FastAPI parses a JSON body before it solves the route's dependencies, so a body that
    is not JSON would be refused (422) before anyone asked who sent it or took their token.
    This runs the checks those dependencies make, in their order, for such a request: 401,
    then 429/503 (the token taken, as any POST's is), then 400; None when all pass."""
    route = request.scope.get("route")
    calls = dependency_calls(route.dependant) if isinstance(route, APIRoute) else set()
    try:
        if calls & {current_user, rate_limited_user, metered_user}:
            user_id = await current_user(request)
            if calls & {rate_limited_user, metered_user}:
                await request.app.state.services.limiter.take(user_id)
        if idempotency_key in calls:
            await idempotency_key(request)
    except GatewayError as refused:
        return refused
    return None


def dependency_calls(dependant: Dependant) -> set[object]:
    """Every dependency callable of a route, sub-dependencies included."""
    found: set[object] = set()
    for sub in dependant.dependencies:
        found |= {sub.call} | dependency_calls(sub)
    return found


Svc = Annotated[Services, Depends(services)]
PostingUser = Annotated[uuid.UUID, Depends(rate_limited_user)]
IdempotencyKey = Annotated[str, Depends(idempotency_key)]
MeteredUser = Annotated[Meter, Depends(metered_user)]
