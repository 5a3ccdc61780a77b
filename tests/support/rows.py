"""Direct row builders for tests that need known data (figures computed by hand)."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.questions import CURRENT
from bot.domain.scoring import Metric
from storage.models import Contact, Interaction, Response, Survey

_SERIAL = itertools.count(1)


async def answered(
    session: AsyncSession,
    *,
    account: str,
    metric: str,
    score: int | None,
    at: datetime,
    comment: str | None = None,
    kind: str = "support_ticket",
    owner: str | None = None,
) -> Survey:
    """A survey sent at `at` and, unless `score` is None, answered with `score` at `at`."""
    n = next(_SERIAL)
    contact = Contact(
        account_key=account, platform="slack", platform_user_id=f"UROW{n}", created_at=at
    )
    session.add(contact)
    interaction = Interaction(
        source="rows",
        external_id=f"r{n}",
        account_key=account,
        kind=kind,
        occurred_at=at,
        owner=owner,
        created_at=at,
    )
    session.add(interaction)
    await session.flush()
    assert contact.id is not None and interaction.id is not None
    version = CURRENT[Metric(metric)].key
    survey = Survey(
        interaction_id=interaction.id,
        contact_id=contact.id,
        account_key=account,
        program="p",
        metric=metric,
        question_version=version,
        status="answered" if score is not None else "sent",
        due_at=at,
        sent_at=at,
        created_at=at,
    )
    session.add(survey)
    await session.flush()
    assert survey.id is not None
    if score is not None:
        session.add(
            Response(
                survey_id=survey.id,
                account_key=account,
                contact_id=contact.id,
                metric=metric,
                kind=kind,
                question_version=version,
                score=score,
                comment=comment,
                answered_at=at,
            )
        )
    await session.flush()
    return survey
