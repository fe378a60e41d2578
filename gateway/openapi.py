"""The OpenAPI document a client generator can use, and the pages that render it offline.

FastAPI derives paths and bodies from the routes; this module adds what it cannot know:
the bearer scheme on the operations that need a token, `Idempotency-Key` (required; its
dependency reads it from the request, to answer 400 rather than 422 and to spare FastAPI's
per-request parameter validation), every error status with the one error body, the response
headers, and an example on every body. Swagger UI and ReDoc
are served from the files `drf-spectacular-sidecar` ships, so `/docs` works with no network.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from gateway import errors, examples
from gateway.auth import current_user
from gateway.deps import dependency_calls, idempotency_key, metered_user

ASSETS = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
ASSETS_URL = "/docs/assets"
SECURITY = "bearerAuth"
AUTHENTICATING = (current_user, metered_user)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "1-255 printable characters",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:"
)
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
ERRORS = {
    "400": "Idempotency-Key missing or malformed (`idempotency_key_required`, `…_invalid`)",
    "401": "No valid Bearer token (`unauthorized`)",
    "403": "Notification from an address outside the allowed networks (`forbidden`)",
    "404": "No such resource, or it belongs to another user (`not_found`)",
    "409": "The payment cannot be refunded now (`payment_not_refundable`, `nothing_to_refund`)",
    "413": "Body larger than the limit (`payload_too_large`)",
    "422": "Invalid request, the Idempotency-Key was used with another body, or no email for"
    " the 54-FZ receipt (`receipt_contact_required`)",
    "429": "Too many requests for this user (`rate_limited`); see Retry-After",
    "503": "Kafka or PostgreSQL unavailable: retry with the same Idempotency-Key",
}
EXAMPLE_ERRORS: dict[str, type[errors.GatewayError]] = {
    "400": errors.IdempotencyKeyRequired,
    "401": errors.Unauthorized,
    "403": errors.ForbiddenSource,
    "404": errors.NotFound,
    "409": errors.NothingToRefund,
    "413": errors.PayloadTooLarge,
    "422": errors.IdempotencyKeyReused,
    "429": errors.RateLimited,
    "503": errors.ServiceUnavailable,
}
RETRY_AFTER = {"description": "seconds to wait", "schema": {"type": "integer"}}
REQUEST_ID = {"description": "this request's id (the caller's X-Request-ID if sane)"}
SUCCESS_HEADERS = {
    "X-Request-ID": {**REQUEST_ID, "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when the answer replays an earlier request with this key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
DESCRIPTION = """\
Payments and refunds for cinema subscriptions.

**Authentication**: `Authorization: Bearer <JWT>` (Auth service). Only `GET /api/v1/plans`
and the provider's webhook need none.

**Idempotency**: every POST that creates something takes `Idempotency-Key` (1–255 printable
characters). The same user, key and body always give the same resource, also when requests
race; the same key with another body is 422 `idempotency_key_reused`. A replay answers as
the first request did, with `Idempotent-Replayed: true`. Keys are kept at least
`IDEMPOTENCY_KEY_RETENTION_HOURS` (default and minimum 24 h); `billing keys expire` then
drops the key's text. Because a resource's id is derived from (user, key), even an expired
key still finds its resource: a late retry never charges twice.

**Asynchrony**: `202` means the command is durably in Kafka. Poll the resource, or send
`Prefer: wait=N` (N ≤ 10) to `POST /api/v1/payments` to get `201` once the payment has its
`confirmation_url` or a final status.

**Errors**: every 4xx/5xx body is `{"error": {"code", "message"}}`.

**Tracing**: send `X-Request-ID` (or get one); it travels with the command through Kafka to
the provider and shows in the admin's payment timeline.
"""


def camel_operation_id(route: APIRoute) -> str:
    """`create_payment` → `createPayment`: the route function's name is the operation id."""
    first, *rest = route.name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """The custom document of `routers`' operations, and /docs + /redoc on local assets."""
    routes = [route for router in routers for route in router.routes]
    app.openapi = lambda: _document(app, routes)  # type: ignore[method-assign]
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _self_only(
            get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=f"{app.title} — Swagger UI",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-dist/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui-dist/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/swagger-ui-dist/favicon-32x32.png",
                swagger_ui_parameters={"persistAuthorization": True},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _self_only(
            get_redoc_html(
                openapi_url="/openapi.json",
                title=f"{app.title} — ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc/bundles/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/swagger-ui-dist/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


def _self_only(page: HTMLResponse) -> HTMLResponse:
    """The docs pages may load nothing from elsewhere (ReDoc's footer links a CDN logo)."""
    page.headers["Content-Security-Policy"] = CSP
    return page


def _document(app: FastAPI, routes: list[BaseRoute]) -> dict[str, Any]:
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
        )
        doc["components"]["securitySchemes"] = {
            SECURITY: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
        for route in routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    operation = doc["paths"][route.path_format][method.lower()]
                    _complete(operation, route, doc["components"]["schemas"])
        for unused in ("HTTPValidationError", "ValidationError"):
            doc["components"]["schemas"].pop(unused, None)
        app.openapi_schema = doc
    return app.openapi_schema


def _complete(operation: dict[str, Any], route: APIRoute, schemas: dict[str, Any]) -> None:
    extra = examples.OPERATIONS.get(operation["operationId"], {})
    if "requestBody" in extra:
        operation.setdefault("requestBody", extra["requestBody"])
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code, documented in extra.get("responses", {}).items():
        responses.setdefault(code, {}).update(documented)
    if _needs_token(route):
        operation["security"] = [{SECURITY: []}]
        responses.setdefault("401", {})
    if idempotency_key in dependency_calls(route.dependant):  # read from the request: not seen
        operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY))
        responses.setdefault("400", {})
        # As documented when the key was a `Header` parameter (FastAPI adds its 422 to any
        # operation with one): the document does not change with how the key is read.
        responses.setdefault("422", {})
    if "requestBody" in operation:
        responses.setdefault("413", {})
    if route.path_format.startswith("/api/"):
        responses.setdefault("503", {})
    for code, response in responses.items():
        if code in ERRORS:
            _error_response(code, response)
        elif code.startswith("2"):
            response.setdefault("headers", {}).update(SUCCESS_HEADERS)
        _example_from_schema(response, schemas)
    _example_from_schema(operation.get("requestBody", {}), schemas)
    operation["responses"] = dict(sorted(responses.items()))


def _needs_token(route: APIRoute) -> bool:
    return _depends_on_user(route.dependant)


def _depends_on_user(dependant: Dependant) -> bool:
    """Whether a dependency reads the Bearer token: `current_user`, or `metered_user`, which
    verifies it itself (one dependency solved per POST instead of two)."""
    return any(
        sub.call in AUTHENTICATING or _depends_on_user(sub) for sub in dependant.dependencies
    )


def _error_response(code: str, response: dict[str, Any]) -> None:
    error = EXAMPLE_ERRORS[code]
    example = {"error": {"code": error.code, "message": error.default_message}}
    response["description"] = ERRORS[code]
    response["content"] = {"application/json": {"schema": ERROR_REF, "example": example}}
    if code in ("429", "503"):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    if code == "401":
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}


def _example_from_schema(holder: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Put the schema's first example on the media type too (Swagger UI shows that one)."""
    for media in holder.get("content", {}).values():
        schema = media.get("schema", {})
        target = schema
        if "$ref" in schema:
            target = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
            item = schemas.get(schema["items"]["$ref"].rsplit("/", 1)[-1], {})
            if item.get("examples"):
                media.setdefault("example", [item["examples"][0]])
            continue
        if target.get("examples"):
            media.setdefault("example", target["examples"][0])
