"""common.logs: one JSON object per line, the ids in context, the request id on the wire."""

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from structlog.contextvars import clear_contextvars, get_contextvars

from common import logs
from schemas import ids
from schemas.messages import CreatePayment


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    clear_contextvars()
    yield
    clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line]


def command() -> CreatePayment:
    payment_id = uuid.uuid4()
    return CreatePayment(
        message_id=ids.message_id("CreatePayment", payment_id),
        payment_id=payment_id,
        user_id=uuid.uuid4(),
        plan_id="monthly",
        amount="499.00",
        currency="RUB",
        return_url="https://cinema.example/paid",
    )


def test_a_failure_is_one_json_line_with_the_exception_as_a_field(capsys) -> None:  # type: ignore[no-untyped-def]
    log = logs.configure("INFO", "processor-commands")
    message = command()
    with logs.record_context("billing.commands.v1", 3, 42, [("x-request-id", b"req-1")]):
        logs.bind_message(message)
        try:
            raise ValueError("provider said no")
        except ValueError:
            log.exception("handler failed")
    [line] = lines(capsys)
    entry = json.loads(line)
    assert entry["message"] == "handler failed"
    assert entry["level"] == "error"
    assert entry["process"] == "processor-commands"
    assert (entry["topic"], entry["partition"], entry["offset"]) == ("billing.commands.v1", 3, 42)
    assert entry["request_id"] == "req-1"
    assert entry["payment_id"] == str(message.payment_id)
    assert entry["user_id"] == str(message.user_id)
    assert entry["message_id"] == str(message.message_id)
    [error] = entry["exception"]
    assert (error["exc_type"], error["exc_value"]) == ("ValueError", "provider said no")


def test_a_library_line_carries_the_ids_bound_by_the_handler(capsys) -> None:  # type: ignore[no-untyped-def]
    logs.configure("INFO")
    message = command()
    with logs.record_context("billing.commands.v1", 0, 7):
        logs.bind_message(message)
        logging.getLogger("httpx").info('HTTP Request: POST http://provider/v3/payments "200 OK"')
    entry = json.loads(lines(capsys)[0])
    assert entry["logger"] == "httpx"
    assert entry["payment_id"] == str(message.payment_id)


def test_one_records_ids_never_leak_into_the_next(capsys) -> None:  # type: ignore[no-untyped-def]
    log = logs.configure("INFO")
    with logs.record_context("t", 0, 1):
        logs.bind_message(command())
    with logs.record_context("t", 0, 2):
        log.info("next record, not decoded yet")
    entry = json.loads(lines(capsys)[0])
    assert entry["offset"] == 2
    assert "payment_id" not in entry and "request_id" not in entry
    assert "offset" not in get_contextvars()


def test_console_format_is_for_humans(capsys) -> None:  # type: ignore[no-untyped-def]
    log = logs.configure("INFO", fmt="console")
    log.info("hello operator")
    [line] = lines(capsys)
    assert "hello operator" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize("junk", ["", "a b", "x" * 65, "caf\u00e9", "line\nbreak"])
def test_an_unusable_request_id_is_replaced_by_a_fresh_one(junk: str) -> None:
    fresh = logs.sane_request_id(junk)
    assert fresh != junk and len(fresh) == 32


def test_the_request_id_goes_into_kafka_headers_and_comes_back_out() -> None:
    with logs.request_context("abc-123"):
        headers = logs.kafka_headers()
    assert headers == [("x-request-id", b"abc-123")]
    assert logs.request_id_from(headers) == "abc-123"
    assert logs.kafka_headers() == []


async def test_a_task_started_for_everyone_during_a_request_does_not_log_under_its_id(
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    log = logs.configure("INFO", "gateway")

    async def background() -> None:
        log.warning("metadata refresh failed")

    with logs.request_context("req-1"):
        logs.bind(payment_id=uuid.uuid4())
        await asyncio.create_task(background(), context=logs.without_request())
    entry = json.loads(lines(capsys)[0])
    assert entry["process"] == "gateway"
    assert "request_id" not in entry and "payment_id" not in entry


class Writes(io.StringIO):
    """A stream that remembers each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def batched(stream: Writes) -> logging.Logger:
    handler = logs.BatchedHandler(stream)
    handler.setFormatter(logs.formatter())
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel("INFO")
    return logging.getLogger("access")


async def test_the_lines_of_one_loop_pass_are_written_at_once_in_order() -> None:
    stream = Writes()
    log = batched(stream)
    for n in range(3):
        log.info("request %d", n)
    assert stream.writes == []
    await asyncio.sleep(0)  # the pass ends
    [written] = stream.writes
    assert [json.loads(line)["message"] for line in written.splitlines()] == [
        "request 0",
        "request 1",
        "request 2",
    ]


async def test_a_warning_is_written_at_once_after_the_lines_kept_before_it() -> None:
    stream = Writes()
    log = batched(stream)
    log.info("request 0")
    log.warning("the broker is gone")
    [written] = stream.writes
    assert [json.loads(line)["level"] for line in written.splitlines()] == ["info", "warning"]
    await asyncio.sleep(0)
    assert len(stream.writes) == 1


def test_outside_a_loop_each_line_is_written_at_once_as_a_stream_handler_writes_it() -> None:
    stream, plain = Writes(), io.StringIO()
    log = batched(stream)
    reference = logging.StreamHandler(plain)
    reference.setFormatter(logs.formatter())
    log.addHandler(reference)
    with logs.request_context("req-1"):
        log.info("request 0")
        log.info("request 1")
    log.removeHandler(reference)
    assert len(stream.writes) == 2

    def entries(text: str) -> list[dict[str, object]]:  # each formatted at its own time
        return [{**json.loads(line), "ts": None} for line in text.splitlines()]

    assert entries(stream.getvalue()) == entries(plain.getvalue())
    assert entries(stream.getvalue())[0] == {
        "request_id": "req-1",
        "level": "info",
        "logger": "access",
        "ts": None,
        "message": "request 0",
    }


async def test_flushing_writes_what_is_kept() -> None:
    stream = Writes()
    log = batched(stream)
    log.info("the last line before the loop stops")
    logging.getLogger().handlers[0].flush()
    assert "the last line" in stream.getvalue()


def test_a_line_kept_when_its_loop_stopped_is_written_in_the_next_loops_pass() -> None:
    stream = Writes()
    log = batched(stream)
    first = asyncio.new_event_loop()

    def last_callback() -> None:  # the pass that would have written the line never comes
        log.info("in the first loop")
        first.stop()

    first.call_soon(last_callback)
    first.run_forever()
    first.close()
    assert stream.writes == []

    async def next_loop() -> None:
        log.info("in the next loop")
        await asyncio.sleep(0)

    asyncio.run(next_loop())
    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert messages == ["in the first loop", "in the next loop"]


class Broken(io.StringIO):
    """stderr whose reader is gone (supervisord killed while its children live on)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_broken_stream_neither_fails_the_caller_nor_stops_the_loop(capsys) -> None:  # type: ignore[no-untyped-def]
    log = batched(Broken())  # type: ignore[arg-type]
    log.warning("written at once")  # a StreamHandler reports the failure, it does not raise
    log.info("written at the end of the pass")
    await asyncio.sleep(0)  # the pass's flush ran as a loop callback
    await asyncio.sleep(0)  # and the loop goes on
    assert capsys.readouterr().err.count("--- Logging error ---") == 2
