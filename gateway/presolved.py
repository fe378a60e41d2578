"""Routes whose usual request skips FastAPI's per-request solving; every other one is FastAPI's.

FastAPI answers a request by reading and parsing its body, solving the dependencies,
validating the body, calling the endpoint, then validating and serializing what it returned:
on `POST /api/v1/payments` that was ≈ 320 of the 1,780 Python calls per request and ≈ 40 µs
of the gateway's ≈ 420 µs of CPU in process (docs/performance.md, round 13). A
`PresolvedRoute` asks its `presolve` for the endpoint's arguments first: for the request it
expects (the one every check passes) that is a few plain calls; it then calls the same
endpoint and serializes its answer exactly as FastAPI does (the response model's JSON by
alias, the endpoint's status and headers).

Whenever `presolve` declines (None), FastAPI's own handler answers the request from the
start, so every refusal — which one, in which order, with which message — and every unusual
content type or body is FastAPI's, unchanged. Hence the one rule for a `presolve`: it may
decline at any point, but it must have done nothing FastAPI's handler would not do again
(verifying a token, reading the body, parsing it: FastAPI reuses or repeats them). Marking
the request as metered (`deps.metering`) is not such a thing: it comes last.

The route stays an `APIRoute`, declared with `route_class_override`: the OpenAPI document
is built from it as before.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from gateway.errors import GatewayError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PresolvedRoute(APIRoute):
    async def presolve(self, request: Request, response: Response) -> dict[str, Any] | None:
        """The endpoint's arguments for the usual request (`response` is the one its headers
        and status go on), or None to let FastAPI answer it."""
        return None

    def get_route_handler(self) -> Handler:
        fastapi_handler = super().get_route_handler()
        endpoint, status_code = self.endpoint, self.status_code
        answer: TypeAdapter[Any] = TypeAdapter(self.response_model)

        async def handler(request: Request) -> Response:
            sub_response = Response()  # as FastAPI's: no length, no status unless set
            del sub_response.headers["content-length"]
            sub_response.status_code = None  # type: ignore[assignment]
            overridden = getattr(request.app, "dependency_overrides", None)
            arguments = None if overridden else await self.presolve(request, sub_response)
            if arguments is None:
                return await fastapi_handler(request)
            value = answer.validate_python(await endpoint(**arguments), from_attributes=True)
            response = Response(
                answer.dump_json(value, by_alias=True),
                status_code=sub_response.status_code or status_code or 200,
                media_type="application/json",
            )
            response.headers.raw.extend(sub_response.headers.raw)
            return response

        return handler


async def body_of(request: Request) -> bytes:
    """The request's body, or the error FastAPI's handler ends with when it cannot read it:
    the gateway's own (`PayloadTooLarge` from `EdgeMiddleware`), else its 400."""
    try:
        return await request.body()
    except GatewayError:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
