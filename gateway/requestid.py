"""The request id: the caller's `X-Request-ID` if it is sane, else a fresh one.

It is bound in the log context for the whole request (every line the gateway writes about
it carries `request_id`), echoed in the response, sent in the Kafka headers of the commands
it produces (processors bind it again and pass it on to the provider), and stored on the
payment or refund row it creates, so the admin timeline shows it.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common import logs

HEADER = b"x-request-id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = next((v for k, v in scope["headers"] if k == HEADER), b"")
        request_id = logs.sane_request_id(asked.decode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode())]
            await send(message)

        with logs.request_context(request_id):
            await self.app(scope, receive, send_with_id)
