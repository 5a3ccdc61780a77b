"""Mirrors the config's accounts and the question catalogue into the database: every
entry point that writes (serve, import, demo) runs it first."""

from __future__ import annotations

from bot.core import Core
from bot.domain import questions
from storage.models import Account, QuestionVersionRow
from storage.queries import feedback


async def prepare_database(core: Core) -> None:
    """Mirror the config's accounts and the question catalogue into the database."""
    async with core.sessions() as session, session.begin():
        await feedback.sync_accounts(
            session=session,
            accounts=[
                Account(
                    key=a.key,
                    name=a.name,
                    tier=a.tier,
                    segment=a.segment,
                    locale=a.locale,
                    timezone=a.timezone,
                )
                for a in core.config.accounts
            ],
        )
        await feedback.ensure_question_versions(session=session, versions=_question_rows())


def _question_rows() -> list[QuestionVersionRow]:
    return [
        QuestionVersionRow(
            key=v.key,
            metric=v.metric,
            scale_min=v.scale_min,
            scale_max=v.scale_max,
            polarity=v.polarity,
            detractor_max=v.detractor_max,
            text=dict(v.text),
            low_label=dict(v.low_label),
            high_label=dict(v.high_label),
        )
        for v in questions.VERSIONS.values()
    ]
