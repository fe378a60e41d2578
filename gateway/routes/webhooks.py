from fastapi import APIRouter, Request

from gateway.deps import Svc
from gateway.models import ErrorOut
from gateway.webhooks import check_source, parse_notification

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post(
    "/yookassa",
    responses={code: {"model": ErrorOut} for code in (400, 403, 413, 503)},  # type: ignore[misc]
    summary="YooKassa notification intake: 200 once durably in Kafka",
)
async def yookassa_notification(request: Request, svc: Svc) -> dict[str, str]:
    check_source(request.client.host if request.client else None, svc.settings.webhook_networks())
    notification = parse_notification(await request.body())
    topic = svc.settings.webhooks_topic
    await svc.publisher.publish(topic, notification.payment_external_id, notification)
    svc.metrics.produced.labels(topic, notification.type).inc()
    return {}
