"""Running a long-lived process: logs, SIGTERM/SIGINT → a stop event, then a graceful end.

`main(name, settings, run)` is the entry point of every Kafka process (processors and
consumers): `run(settings, stop)` works until `stop` is set and then finishes what it holds.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from common import logs
from common.metrics import start_metrics_server
from common.settings import Settings

S = TypeVar("S", bound=Settings)
Run = Callable[[S, asyncio.Event], Awaitable[None]]

log = logging.getLogger(__name__)


def main(name: str, settings: S, run: Run[S]) -> None:
    logs.configure(settings.log_level, name, settings.log_format)
    start_metrics_server(name)
    _run_loop(serve(name, settings, run))


async def serve(name: str, settings: S, run: Run[S]) -> None:
    """Run until SIGTERM/SIGINT, which set the stop event `run` watches."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)
    log.info("%s stopped", name)


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop (shipped with uvicorn[standard]) when present: the Kafka processes are event-loop
    bound, and its loop costs less CPU per socket operation than asyncio's selector loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
