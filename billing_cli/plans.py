"""`billing plans set|list`: create or update a plan and its schedule (CONTRACT §2a).

`billing plans set ID --title T --amount 10.00 --currency RUB --period 60s --renew-before 20s
--retry 10s,20s --grace 40s` (durations take s/m/h/d, `domain.durations`). A new schedule
applies from the next period each subscription plans.
"""

import asyncio
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from common.settings import Settings
from domain.durations import InvalidDuration, format_seconds, parse_schedule, parse_seconds

app = typer.Typer(help="Plans: price and schedule.", no_args_is_help=True)
console = Console()
DAY = 86400


@dataclass(frozen=True)
class PlanSpec:
    id: str
    title: str
    amount: Decimal
    currency: str
    period: int
    renew_before: int
    retry: tuple[int, ...]
    grace: int


def spec_of(
    plan_id: str, title: str, amount: str, currency: str, durations: tuple[str, str, str, str]
) -> PlanSpec:
    """Validated input, or `typer.BadParameter` saying what is wrong."""
    try:
        money = Decimal(amount)
        period, renew_before = parse_seconds(durations[0]), parse_seconds(durations[1])
        retry, grace = parse_schedule(durations[2]), parse_seconds(durations[3])
    except (InvalidOperation, InvalidDuration) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not money.is_finite() or money < 0 or money != money.quantize(Decimal("0.01")):
        raise typer.BadParameter(f"amount {amount!r} is not money with at most 2 decimals")
    if period <= 0 or renew_before >= period or any(r <= 0 for r in retry):
        raise typer.BadParameter("period > 0, renew-before < period, every retry > 0")
    if len(currency) != 3 or not currency.isalpha():
        raise typer.BadParameter("currency is three letters, e.g. RUB")
    return PlanSpec(plan_id, title, money, currency.upper(), period, renew_before, retry, grace)


async def upsert(settings: Settings, spec: PlanSpec) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            """
            INSERT INTO payments_history.plans AS p (id, title, amount, currency, period_days,
                period_seconds, renew_before_seconds, retry_seconds, grace_seconds, active)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true)
            ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, amount = EXCLUDED.amount,
                currency = EXCLUDED.currency, period_days = EXCLUDED.period_days,
                period_seconds = EXCLUDED.period_seconds,
                renew_before_seconds = EXCLUDED.renew_before_seconds,
                retry_seconds = EXCLUDED.retry_seconds, grace_seconds = EXCLUDED.grace_seconds,
                active = true, updated_at = now()
            """,
            spec.id,
            spec.title,
            spec.amount,
            spec.currency,
            spec.period // DAY,
            spec.period,
            spec.renew_before,
            list(spec.retry),
            spec.grace,
        )
    finally:
        await conn.close()


@app.command("set")
def set_plan(
    plan_id: Annotated[str, typer.Argument(help="the plan's id, e.g. monthly")],
    title: Annotated[str, typer.Option(help="what users see")],
    amount: Annotated[str, typer.Option(help="price, e.g. 10.00")],
    period: Annotated[str, typer.Option(help="e.g. 60s, 30d")],
    currency: Annotated[str, typer.Option(help="ISO code")] = "RUB",
    renew_before: Annotated[str, typer.Option(help="charge this long before the end")] = "0s",
    retry: Annotated[str, typer.Option(help="dunning retries, e.g. 1d,3d,5d")] = "",
    grace: Annotated[str, typer.Option(help="access kept while past due")] = "0s",
) -> None:
    """Create or update a plan."""
    if not 1 <= len(plan_id) <= 32:
        raise typer.BadParameter("a plan id has 1 to 32 characters")
    spec = spec_of(plan_id, title, amount, currency, (period, renew_before, retry, grace))
    asyncio.run(upsert(Settings(), spec))
    retries = ",".join(format_seconds(r) for r in spec.retry) or "none"
    console.print(
        f"plan {spec.id}: {spec.amount:.2f} {spec.currency} every {format_seconds(spec.period)}, "
        f"renew {format_seconds(spec.renew_before)} ahead, retries {retries}, "
        f"grace {format_seconds(spec.grace)}"
    )


@app.command("list")
def list_plans() -> None:
    """Every plan with its schedule."""
    rows = asyncio.run(_fetch(Settings()))
    table = Table("id", "title", "amount", "period", "renew before", "retry", "grace", "active")
    for r in rows:
        table.add_row(
            r["id"],
            r["title"],
            f"{r['amount']:.2f} {r['currency'].strip()}",
            format_seconds(r["period_seconds"]),
            format_seconds(r["renew_before_seconds"]),
            ",".join(format_seconds(x) for x in r["retry_seconds"]),
            format_seconds(r["grace_seconds"]),
            "yes" if r["active"] else "no",
        )
    console.print(table)


async def _fetch(settings: Settings) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await conn.fetch("SELECT * FROM payments_history.plans ORDER BY amount, id")
    finally:
        await conn.close()
