import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.deps import Svc

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: Svc) -> JSONResponse:
    """Ready only while both answer: Kafka metadata and PostgreSQL `SELECT 1`."""
    kafka, postgres = await asyncio.gather(svc.publisher.ping(), svc.db.ping())
    ready = kafka and postgres
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "kafka": kafka, "postgres": postgres},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(svc: Svc) -> Response:
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
