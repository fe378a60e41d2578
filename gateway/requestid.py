"""The request id: the caller's `X-Request-ID` if it is sane, else a fresh one.

It is bound in the log context for the whole request (every line the gateway writes about
it carries `request_id`) and echoed in the response, both by `gateway.middleware`'s
`EdgeMiddleware`; sent in the Kafka headers of the commands it produces (processors bind it
again and pass it on to the provider), and stored on the payment or refund row it creates,
so the admin timeline shows it.
"""

from starlette.types import Message, Scope

from common import logs

HEADER = b"x-request-id"


def of(scope: Scope) -> str:
    """The request's id: the caller's header if it is sane, else a fresh one."""
    asked = next((v for k, v in scope["headers"] if k == HEADER), b"")
    return logs.sane_request_id(asked.decode("latin-1"))


def echo(start: Message, request_id: str) -> None:
    """Put the id on a response's `http.response.start` message (replacing any there)."""
    headers = [(k, v) for k, v in start.get("headers", []) if k != HEADER]
    start["headers"] = [*headers, (HEADER, request_id.encode())]
