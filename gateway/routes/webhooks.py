from fastapi import APIRouter, Request

from gateway.deps import services_of
from gateway.errors import PayloadTooLarge
from gateway.models import ErrorOut
from gateway.webhooks import check_source, parse_notification

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post(
    "/yookassa",
    responses={code: {"model": ErrorOut} for code in (400, 403, 413, 429, 503)},  # type: ignore[misc]
    summary="YooKassa notification intake: 200 once durably in Kafka",
)
async def yookassa_notification(request: Request) -> dict[str, str]:
    """Source allowlist, then the per-source and total rate, then the size, then the shape."""
    svc = services_of(request)
    source = request.client.host if request.client else None
    check_source(source, svc.settings.webhook_networks())
    svc.webhook_limiter.take(source or "unknown")
    raw = await request.body()  # the app-wide limit has bounded it already
    if len(raw) > svc.settings.webhook_max_body_bytes:
        raise PayloadTooLarge("a provider notification is never this large")
    notification = parse_notification(raw)
    topic = svc.settings.webhooks_topic
    await svc.publisher.publish(topic, notification.payment_external_id, notification)
    svc.metrics.produced.labels(topic, notification.type).inc()
    return {}
