"""Counts for /metrics, and the checks of /healthz (GROUP BY, never row loops)."""

from __future__ import annotations

from sqlalchemy import column, func, literal, table, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, Response, Survey

# Alembic's one-row table: every migrated database has it, and nothing else writes it
# outside a migration.
_ALEMBIC_VERSION = table("alembic_version", column("version_num"))
# How long the write check waits for a lock on PostgreSQL (a migration holds this row):
# longer than /healthz waits, so that a held lock shows there as a timeout and not as a
# refusal, yet short enough that a check stuck behind it ends soon.
_LOCK_WAIT = "5s"


async def ping(*, session: AsyncSession) -> None:
    await session.exec(select(literal(1)))


async def write_probe(*, session: AsyncSession) -> None:
    """Write one row (to the value it has): raises the driver's error when the database
    refuses writes. The caller rolls back.

    A real row write, not just `transaction_read_only`: it also fails on a hot standby, when
    PostgreSQL stops assigning transaction ids (wraparound protection), and on SQLite when
    the file or its filesystem turned read-only, where `BEGIN IMMEDIATE` still succeeds."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(select(func.set_config("lock_timeout", _LOCK_WAIT, True)))
    version = _ALEMBIC_VERSION.c.version_num
    await session.exec(update(_ALEMBIC_VERSION).values(version_num=version))


async def surveys_by_status(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Survey.status, func.count()).group_by(Survey.status))
    return dict(result.all())


async def surveys_suppressed_by_reason(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(
        select(Survey.suppressed_reason, func.count())
        .where(Survey.status == "suppressed")
        .group_by(Survey.suppressed_reason)
    )
    return {reason or "unknown": count for reason, count in result.all()}


async def responses_by_metric(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Response.metric, func.count()).group_by(Response.metric))
    return dict(result.all())


async def alerts_by_status(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Alert.status, func.count()).group_by(Alert.status))
    return dict(result.all())
