"""The `billing` command: replay, lag, dlq list|show|reinject, keys expire, reconcile, token,
plans set|list.

Every command talks to the same stack as the services, through the same settings
(`DATABASE_URL`, `KAFKA_BOOTSTRAP_SERVERS`, `AUTH_URL`, `JWT_SECRET`, ...).
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from billing_cli import plans, render, tokens
from billing_cli import replay as replays
from billing_cli.lag import group_lag, partition_lag
from common.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time: the CLI starts fast without the processors
    from billing_cli.keys import Expired
    from processors.reconciler import Pass

app = typer.Typer(help="Operate the billing service.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list them, put one back.", no_args_is_help=True)
keys_app = typer.Typer(help="Idempotency keys: expire those past retention.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(keys_app, name="keys")
app.add_typer(plans.app, name="plans")
console = render.wide_console()
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@app.command()
def replay(
    group: Annotated[str | None, typer.Option(help="consumer group to rewind")] = None,
    topic: Annotated[
        str | None, typer.Option(help="topic to rewind (every group reading it)")
    ] = None,
    to_offset: Annotated[int | None, typer.Option(help="absolute offset")] = None,
    to_datetime: Annotated[datetime | None, typer.Option(help="ISO time (UTC if naive)")] = None,
    to_earliest: Annotated[bool, typer.Option(help="offset 0 (the default)")] = False,
    dry_run: Annotated[bool, typer.Option(help="show the new offsets, change nothing")] = False,
    stop: Annotated[bool, typer.Option(help="stop/start the group's program")] = True,
    wait: Annotated[float, typer.Option(help="seconds to wait for lag 0 (0: don't)")] = 120.0,
) -> None:
    """Rewind consumer groups with Kafka's own offset reset; the programs replay from there."""
    if sum(x is not None for x in (to_offset, to_datetime)) + to_earliest > 1:
        raise typer.BadParameter("give one of --to-earliest, --to-offset, --to-datetime")
    target = replays.Target(offset=to_offset, at=to_datetime)
    settings = Settings()
    try:
        groups = replays.groups_for(group, topic)
        for name in groups:
            _replay_group(settings, name, topic, target, dry_run, stop)
    except replays.ReplayError as exc:
        console.print(f"[red]replay failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if wait > 0 and not dry_run:
        _wait_for_lag(settings, groups, wait)


def _replay_group(
    settings: Settings, group: str, topic: str | None, target: replays.Target, dry: bool, stop: bool
) -> None:
    command = replays.reset_command(settings.kafka_bootstrap_servers, group, topic, target, not dry)
    name = replays.program(group) if stop and not dry else None
    if name:
        replays.supervise("stop", name)
    try:
        console.print(replays.reset_offsets(command))
    finally:
        if name:
            replays.supervise("start", name)


def _wait_for_lag(settings: Settings, groups: list[str], within: float) -> None:
    lag = asyncio.run(_follow_lag(settings.kafka_bootstrap_servers, groups, within))
    if any(lag.values()):
        console.print(f"[yellow]still lagging after {within:.0f}s:[/yellow] {lag}")
        raise typer.Exit(1)
    console.print("replayed: every group is caught up")


async def _follow_lag(bootstrap: str, groups: list[str], within: float) -> dict[str, int]:
    """A progress bar from the lag right after the reset down to 0."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("lag {task.fields[lag]}"))
    deadline = time.monotonic() + within
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        lag = await group_lag(bootstrap, groups)
        first = max(sum(lag.values()), 1)
        task = progress.add_task("replaying", total=first, lag=sum(lag.values()))
        while any(lag.values()) and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            lag = await group_lag(bootstrap, groups)
            left = sum(lag.values())
            progress.update(task, completed=first - min(first, left), lag=left)
    return lag


@app.command()
def reconcile() -> None:
    """Run one reconciler pass now: re-read stale pending payments, re-drive accepted ones."""
    result = asyncio.run(_reconcile_once())
    console.print(
        f"rechecked {result.rechecked} pending, re-drove {result.redriven_payments} payments "
        f"and {result.redriven_refunds} refunds"
    )


async def _reconcile_once() -> Pass:
    from common.producer import Producer
    from processors.reconciler import bootstrap, run_once
    from processors.settings import ProcessorSettings

    settings = ProcessorSettings()
    ctx = await bootstrap(settings)
    producer = Producer(settings)
    try:
        return await run_once(ctx, producer)
    finally:
        await producer.close()
        await ctx.aclose()


@app.command()
def token(
    user_id: Annotated[uuid.UUID, typer.Argument(help="the user's UUID (the token's sub)")],
    local: Annotated[bool, typer.Option(help="sign here with JWT_SECRET")] = False,
    ttl: Annotated[int, typer.Option(help="seconds (with --local)")] = 3600,
) -> None:
    """Print a dev JWT for USER_ID: from the Auth sandbox, or signed locally."""
    settings = Settings()
    if local:
        secret = settings.jwt_secret.get_secret_value()
        issuer, audience = settings.jwt_issuer, settings.jwt_audience
        typer.echo(tokens.local_token(user_id, secret, issuer, audience, ttl))
    else:
        typer.echo(tokens.auth_token(user_id, settings.auth_url))


@app.command()
def lag(
    group: Annotated[list[str] | None, typer.Option(help="only these groups")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Consumer lag per group and partition (real records only, not transaction markers)."""
    groups = group or list(replays.PROGRAMS)
    settings = Settings()
    rows = asyncio.run(partition_lag(settings.kafka_bootstrap_servers, groups))
    if as_json:
        typer.echo(render.to_json(rows))
        return
    table = render.table("group", "topic", "partition", "committed", "end", "lag")
    for r in rows:
        committed = "-" if r.committed is None else str(r.committed)
        table.add_row(r.group, r.topic, str(r.partition), committed, str(r.end), str(r.lag))
    console.print(table)
    console.print(f"total lag {sum(r.lag for r in rows)}")


@keys_app.command("expire")
def keys_expire(
    older_than_hours: Annotated[
        int | None, typer.Option(min=24, help="default IDEMPOTENCY_KEY_RETENTION_HOURS")
    ] = None,
) -> None:
    """Drop the text of idempotency keys past retention on final payments and refunds."""
    settings = Settings()
    hours = older_than_hours or settings.idempotency_key_retention_hours
    expired = asyncio.run(_expire_keys(settings, hours))
    console.print(
        f"expired keys older than {hours} h: {expired.payments} payments, {expired.refunds} refunds"
    )


async def _expire_keys(settings: Settings, hours: int) -> Expired:
    from billing_cli.keys import expire_keys
    from common.db import create_pool

    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await expire_keys(conn, hours)
    finally:
        await pool.close()


@dlq_app.command("list")
def dlq_list(
    consumer: Annotated[str | None, typer.Option(help="only this consumer's")] = None,
    pending: Annotated[bool, typer.Option(help="only those not reinjected yet")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The newest dead letters, one row each (full ids; `dlq show ID` for all of one)."""
    from billing_cli import dlq

    rows = asyncio.run(dlq.list_letters(Settings(), consumer, pending, limit))
    if as_json:
        typer.echo(render.to_json(rows))
        return
    table = render.table("id", "consumer", "origin", "message_id", "error", "created", "reinjected")
    for r in rows:
        origin = f"{r.origin_topic}[{r.origin_partition}]@{r.origin_offset}"
        reinjected = (
            f"{r.reinjected_at:%Y-%m-%d %H:%M} by {r.reinjected_by}" if r.reinjected_at else ""
        )
        table.add_row(
            str(r.id),
            r.consumer,
            origin,
            str(r.message_id or ""),
            r.error[:80],
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            reinjected,
        )
    console.print(table)
    console.print(f"{len(rows)} dead letters")


@dlq_app.command("show")
def dlq_show(
    letter_id: Annotated[int, typer.Argument(help="the dead letter's id (see `billing dlq list`)")],
    as_json: JsonFlag = False,
) -> None:
    """One dead letter whole: where it came from, its full payload and the full error."""
    from billing_cli import dlq
    from consumers.errors import DeadLetterNotFound

    try:
        row = asyncio.run(dlq.show(Settings(), letter_id))
    except DeadLetterNotFound as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(render.to_json(row))
        return
    for name, value in dataclasses.asdict(row).items():  # plain echo: never wrapped or cut
        if name not in ("payload", "error"):
            typer.echo(f"{name}: {value if value is not None else '-'}")
    typer.echo(f"error:\n{row.error}\npayload:\n{dlq.pretty_payload(row.payload)}")


@dlq_app.command("reinject")
def dlq_reinject(
    letter_id: Annotated[int, typer.Argument(help="the dead letter's id (see `billing dlq list`)")],
    by: Annotated[str, typer.Option(help="who, for the record")] = "",
) -> None:
    """Put a dead letter back on its original topic, unchanged (same message_id)."""
    from billing_cli import dlq
    from consumers.errors import DeadLetterNotFound

    try:
        row = asyncio.run(dlq.reinject(letter_id, by or getpass.getuser()))
    except DeadLetterNotFound as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"reinjected dead letter {row.id} to {row.origin_topic} (by {row.reinjected_by})")
