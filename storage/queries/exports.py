"""Responses for `cxbot export`, streamed in chunks so that a million rows never sit in memory
at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Account, Contact, Interaction, Response, Survey

# The names of the columns each exported row has, in their CSV order.
EXPORT_COLUMNS = (
    "response_id",
    "answered_at",
    "account",
    "account_name",
    "kind",
    "metric",
    "question_version",
    "score",
    "reasons",
    "comment",
    "contact_id",
    "contact_name",
    "contact_email",
    "source",
    "external_id",
)
DEFAULT_CHUNK = 1000


def _export_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(Response.id).label("response_id"),
            col(Response.answered_at),
            col(Response.account_key).label("account"),
            col(Account.name).label("account_name"),
            col(Response.kind),
            col(Response.metric),
            col(Response.question_version),
            col(Response.score),
            col(Response.reasons),
            col(Response.comment),
            col(Response.contact_id),
            col(Contact.name).label("contact_name"),
            col(Contact.email).label("contact_email"),
            col(Interaction.source),
            col(Interaction.external_id),
        )
        .join(Survey, col(Survey.id) == col(Response.survey_id))
        .join(Interaction, col(Interaction.id) == col(Survey.interaction_id))
        .join(Contact, col(Contact.id) == col(Response.contact_id))
        .join(Account, col(Account.key) == col(Response.account_key))
        .order_by(col(Response.answered_at), col(Response.id))
    )


async def responses_for_export(
    *,
    session: AsyncSession,
    since: datetime | None,
    account: str | None,
    chunk: int = DEFAULT_CHUNK,
) -> AsyncIterator[Sequence[RowMapping]]:
    """Chunks of responses answered at or after `since` (all if None), of one account (all if
    None), oldest first; each row has the keys in `EXPORT_COLUMNS`. An erased contact's name
    and e-mail are already blank. The rows are read through a server-side cursor: keep the
    session open until the iteration ends."""
    query = _export_query()
    if since is not None:
        query = query.where(col(Response.answered_at) >= since)
    if account is not None:
        query = query.where(col(Response.account_key) == account)
    result = await session.stream(query.execution_options(yield_per=chunk))
    async for rows in result.mappings().partitions(chunk):
        yield rows
