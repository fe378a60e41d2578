"""The PostgreSQL that `make up` provides: reachable by DSN, schema in place, durable."""

import asyncpg
import pytest


@pytest.fixture
async def conn(database_url: str):  # type: ignore[no-untyped-def]
    connection = await asyncpg.connect(database_url, timeout=10)
    yield connection
    await connection.close()


async def test_application_role_connects_over_tcp_with_its_password(
    conn: asyncpg.Connection, database_url: str
) -> None:
    assert await conn.fetchval("SELECT current_user") == "billing"
    assert await conn.fetchval("SELECT current_database()") == "billing"
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(database_url.replace("billing:billing@", "billing:wrong@"))


async def test_payments_history_schema_exists_and_belongs_to_the_application(
    conn: asyncpg.Connection,
) -> None:
    owner = await conn.fetchval(
        "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'payments_history'"
    )
    assert owner == "billing"
    async with conn.transaction():
        await conn.execute("CREATE TABLE payments_history.probe_infra_test (id int)")
        await conn.execute("DROP TABLE payments_history.probe_infra_test")


async def test_durability_settings_are_not_relaxed(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SHOW fsync") == "on"
    assert await conn.fetchval("SHOW synchronous_commit") == "on"
    assert await conn.fetchval("SHOW server_version_num") >= "150000"
