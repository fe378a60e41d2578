"""`python -m tests.integration.processors.group_crash`: the processor `GROUP_CRASH_PROGRAM`
(`commands` or `webhooks`) whose group commit dies (SIGKILL, as `kill -9` or the OOM killer
would) at the point `GROUP_CRASH_AT` names, in the first batch of at least two bodies — the
windows test_group_commit proves safe:

- `begin`: the batch taken, before BEGIN;
- `body:K`: after K of the batch's bodies ran, before the others;
- `flushed`: after the journal's one flush, before COMMIT;
- `committed`: after COMMIT, before any of the batch's records is finished (so before its
  offset can be committed).

At that point it waits `LINGER_S` before it dies: the run loop commits offsets once a second
(`RunLoopConfig.commit_interval_s`), so an offset committed before its record's COMMIT would be
committed by then, and its record lost. The
first lone body waits `GROUP_CRASH_GATHER_S` (0.5 s) before its BEGIN, so the messages
fetched with it queue behind it and form a batch. The fault is injected through the
committer's `seam`; production code has no switch.
"""

import asyncio
import os
import signal
from collections.abc import Callable

from common.runloop import KeyedRunLoop
from processors import commands, webhooks
from processors.group_commit import Seam
from processors.runtime import Context, main, run_loop
from processors.settings import ProcessorSettings

LINGER_S = 2.5


def seam_for(at: str, gather_s: float, linger_s: float) -> Seam:
    point, _, k = at.partition(":")
    gathered = False

    async def seam(where: str, size: int, done: int) -> None:
        nonlocal gathered
        if size == 1 and not gathered:
            gathered = True
            await asyncio.sleep(gather_s)
        if size >= 2 and where == point and (not k or done == int(k)):
            await asyncio.sleep(linger_s)  # an offset committed too early would be now
            os.kill(os.getpid(), signal.SIGKILL)

    return seam


def build(module: str) -> Callable[[Context], KeyedRunLoop]:
    program = {"commands": commands, "webhooks": webhooks}[module]

    def build_loop(ctx: Context) -> KeyedRunLoop:
        gather_s = float(os.environ.get("GROUP_CRASH_GATHER_S", "0.5"))
        at = os.environ["GROUP_CRASH_AT"]
        ctx.uow.committer.seam = seam_for(at, gather_s, LINGER_S)
        return program.build_loop(ctx)

    return build_loop


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    await run_loop(settings, stop, build(os.environ["GROUP_CRASH_PROGRAM"]))


if __name__ == "__main__":
    main(f"processor-{os.environ['GROUP_CRASH_PROGRAM']}-group-crash", run)
