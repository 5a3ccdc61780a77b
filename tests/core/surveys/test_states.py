""" "Sent" and "open" are defined once, for a loaded row and in SQL; both forms agree on
every combination of status, closing and expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from bot.app.sync import prepare_database
from bot.surveys import states
from storage.engine import Sessions
from storage.models import Survey, SurveyStatus
from storage.queries import surveys
from tests.core.surveys.test_privacy import NOW, _contact, _survey, core_for

CLOSED = (None, NOW - timedelta(hours=1))
EXPIRES = (None, NOW - timedelta(seconds=1), NOW, NOW + timedelta(seconds=1))


async def _grid(sessions: Sessions) -> list[Survey]:
    await prepare_database(core_for(sessions))
    rows: list[Survey] = []
    async with sessions() as session, session.begin():
        contact = await _contact(session, "U1", "Maija", "maija@example.com")
        cells = itertools.product(SurveyStatus, CLOSED, EXPIRES)
        for n, (status, closed_at, expires_at) in enumerate(cells):
            survey = await _survey(session, contact, f"T-{n}", status)
            survey.closed_at, survey.expires_at = closed_at, expires_at
            session.add(survey)
            rows.append(survey)
    return rows


async def _ids(sessions: Sessions, where: ColumnElement[bool]) -> set[int | None]:
    async with sessions() as session:
        return set((await session.exec(select(col(Survey.id)).where(where))).all())


async def test_both_forms_agree(sessions: Sessions) -> None:
    grid = await _grid(sessions)
    open_now = {s.id for s in grid if states.is_open(s, NOW)}
    assert await _ids(sessions, surveys.is_open(NOW)) == open_now
    sent = {s.id for s in grid if states.was_sent(s)}
    assert await _ids(sessions, surveys.was_sent()) == sent


def test_the_rules() -> None:
    def survey(status: SurveyStatus, closed: datetime | None, expires: datetime | None) -> Survey:
        # Only the columns the rules read: a row never stored, so the others may stay unset.
        return Survey(status=status, closed_at=closed, expires_at=expires)  # type: ignore[call-arg]

    assert states.is_open(survey(SurveyStatus.SENT, None, None), NOW)
    assert states.is_open(survey(SurveyStatus.ANSWERED, None, NOW + timedelta(seconds=1)), NOW)
    assert not states.is_open(survey(SurveyStatus.ANSWERED, None, NOW), NOW)  # expiry is the end
    assert not states.is_open(survey(SurveyStatus.SENT, NOW, None), NOW)
    assert not states.is_open(survey(SurveyStatus.SCHEDULED, None, None), NOW)
    assert [s for s in SurveyStatus if states.was_sent(survey(s, None, None))] == [
        SurveyStatus.SENT,
        SurveyStatus.ANSWERED,
        SurveyStatus.EXPIRED,
    ]
