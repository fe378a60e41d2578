"""One logging set-up for every process: one JSON object per line, to stderr (supervisord files it).

Every stdlib logger (ours, uvicorn's, httpx's, aiokafka's, Django's) goes through structlog's
`ProcessorFormatter`, so a line from any library carries what the current task is about:
the ids bound in `structlog.contextvars` by the run loop (`topic`, `partition`, `offset`,
`request_id`) and by the handlers (`message_id`, `payment_id`, `refund_id`, `user_id`).
An exception is one `exception` field (type, value, frames), never a multi-line traceback.
`LOG_FORMAT=console` renders the same events for humans.

Context is per asyncio task: a task starts with a copy of its parent's bindings, and
`record_context` puts back what it found, so one message's ids never leak into the next.
"""

import asyncio
import contextlib
import contextvars
import logging
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from structlog.contextvars import (
    bind_contextvars,
    clear_contextvars,
    get_contextvars,
    unbind_contextvars,
)
from structlog.typing import Processor

LogFormat = Literal["json", "console"]
REQUEST_ID_HEADER = "x-request-id"
MESSAGE_FIELDS = ("message_id", "payment_id", "refund_id", "user_id")
SCOPED_FIELDS = ("request_id", "topic", "partition", "offset", "external_id", *MESSAGE_FIELDS)
MAX_REQUEST_ID = 64


def formatter(fmt: str = "json") -> logging.Formatter:
    """The formatter for `fmt` ("json" or "console"); usable from logging.config too."""
    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.stdlib.ExtraAdder(),
    ]
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "console":
        final.append(structlog.dev.ConsoleRenderer(colors=False))
    else:
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=12)
        )
        final += [
            tracebacks,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(default=str),
        ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=pre_chain, processors=final)


def handler(fmt: str = "json") -> logging.Handler:
    stream = BatchedHandler(sys.stderr)
    stream.setFormatter(formatter(fmt))
    return stream


class BatchedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes the lines of one event-loop pass with one write.

    The gateway logs an access line per request; written one by one, each was a `write` to
    supervisord's pipe that also woke supervisord: 4–7 % of the gateway's busy samples under
    wrk (docs/performance.md, round 13). Within a running loop a line is kept until
    the end of the pass (`call_soon`), when everything kept is written at once, in order.
    A WARNING or worse is written at once (with what was kept before it), and so is any
    line from outside a loop (start-up, threads, Django); `flush` (at exit too, by
    `logging.shutdown`) writes what is kept. A `kill -9` loses at most the lines of the pass
    it interrupts, as an unflushed stdio buffer would. A line logged from a `signal.signal`
    handler while a plain asyncio loop sleeps in `select` waits for the loop's next wake-up
    (the loop has no wake-up fd for such signals). The Kafka programs use
    `loop.add_signal_handler` (`common/process.py`), which wakes the loop; uvicorn (the
    gateway, the sandboxes) uses `signal.signal`, but its handler logs nothing and its main
    loop wakes every 0.1 s.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._kept: list[tuple[str, logging.LogRecord]] = []  # (line, its record)
        self._flush_due: asyncio.AbstractEventLoop | None = None  # the loop that will flush

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._kept.append((self.format(record) + self.terminator, record))
        except Exception:
            self.handleError(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or record.levelno >= logging.WARNING:
            self.flush()
        elif self._flush_due is not loop:  # not yet due, or due in a loop that closed first
            self._flush_due = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write what is kept. A failed write (a broken or closed stderr) is reported as
        `StreamHandler.emit` reports it (`handleError`) and never raised: not into the code
        that logged, nor out of the loop's callback, where it would stop the loop."""
        with self.lock or contextlib.nullcontext():
            self._flush_due = None
            kept, self._kept = self._kept, []
            try:
                if kept:
                    self.stream.write("".join(line for line, _ in kept))
                super().flush()
            except RecursionError:  # as StreamHandler.emit
                raise
            except Exception:
                self.handleError(kept[0][1] if kept else logging.makeLogRecord({}))


def configure(level: str = "INFO", name: str | None = None, fmt: str = "json") -> logging.Logger:
    root = logging.getLogger()
    root.handlers[:] = [handler(fmt)]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    if name:
        bind_contextvars(process=name)
    return logging.getLogger(name or "billing")


def bind_message(message: object) -> None:
    """Bind the ids a decoded command or event carries (whichever of MESSAGE_FIELDS it has)."""
    bind(**{field: getattr(message, field, None) for field in MESSAGE_FIELDS})


def bind(**values: object) -> None:
    """Bind non-None values for the rest of the current task (or `record_context`)."""
    bind_contextvars(**{key: _plain(value) for key, value in values.items() if value is not None})


def _plain(value: object) -> str | int:
    return value if isinstance(value, int | str) and not isinstance(value, bool) else str(value)


@contextmanager
def record_context(
    topic: str, partition: int, offset: int, headers: Sequence[tuple[str, bytes]] | None = None
) -> Iterator[None]:
    """Bindings for handling one Kafka record, undone on exit (whatever the handler bound)."""
    saved = get_contextvars()
    bind(topic=topic, partition=partition, offset=offset, request_id=request_id_from(headers))
    try:
        yield
    finally:
        clear_contextvars()
        bind_contextvars(**saved)


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    saved = get_contextvars()
    bind(request_id=request_id)
    try:
        yield
    finally:
        clear_contextvars()
        bind_contextvars(**saved)


def without_request() -> contextvars.Context:
    """A copy of the current context minus what one request or record is about: for tasks
    started while handling one (a lazily started producer's own tasks) that serve them all."""
    context = contextvars.copy_context()
    context.run(unbind_contextvars, *SCOPED_FIELDS)
    return context


def current_request_id() -> str | None:
    value = get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def sane_request_id(candidate: str | None) -> str:
    """The caller's request id if it is short and printable ASCII, else a fresh one."""
    if candidate and len(candidate) <= MAX_REQUEST_ID and candidate.isascii():
        if candidate.isprintable() and " " not in candidate:
            return candidate
    return uuid.uuid4().hex


def kafka_headers() -> list[tuple[str, bytes]]:
    """Headers for a record produced while handling a request: its request id, if any."""
    request_id = current_request_id()
    return [(REQUEST_ID_HEADER, request_id.encode())] if request_id else []


def http_headers() -> dict[str, str]:
    """Headers for an outgoing HTTP call (the provider): the request id, if any."""
    request_id = current_request_id()
    return {"X-Request-ID": request_id} if request_id else {}


def request_id_from(headers: Sequence[tuple[str, bytes]] | Mapping[str, Any] | None) -> str | None:
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name.lower() == REQUEST_ID_HEADER and isinstance(value, bytes | str):
            raw = value.decode(errors="replace") if isinstance(value, bytes) else value
            return sane_request_id(raw)
    return None
