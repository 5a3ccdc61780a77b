"""GDPR export and erasure of a contact (SPEC §6), on SQLite and PostgreSQL.

`seed` builds the state these tests and the CLI tests in test_cli_data.py share: two
contacts of one account with answered surveys, a scheduled survey each, a queued prompt and a
posted alert card."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app.sync import prepare_database
from bot.config.schema import parse_config
from bot.core import Core
from bot.errors import NotFound
from bot.surveys import privacy
from bot.surveys.intake import schedule
from storage.engine import Sessions
from storage.models import (
    Alert,
    Contact,
    Delivery,
    Interaction,
    InteractionContact,
    Response,
    Survey,
    SurveyStatus,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CONFIG: dict[str, Any] = {
    "vendor": "Example Oy",
    "accounts": [{"key": "acme", "name": "Acme Oy", "timezone": "Europe/Helsinki"}],
    "programs": [{"name": "support-ces", "kinds": ["support_ticket"], "metric": "ces"}],
}
FORMULA_COMMENT = '=HYPERLINK("http://x")'


@dataclass(frozen=True)
class Seeded:
    maija: int
    matti: int
    maija_scheduled: int
    matti_scheduled: int
    queued_prompt: int
    alert_card: int


def core_for(sessions: Sessions) -> Core:
    return Core(sessions=sessions, config=parse_config(CONFIG), clock=lambda: NOW)


async def _add(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def _contact(session: AsyncSession, user_id: str, name: str, email: str) -> Contact:
    contact = Contact(
        account_key="acme",
        platform="slack",
        platform_user_id=user_id,
        name=name,
        email=email,
        locale="fi",
        timezone="Europe/Helsinki",
    )
    return await _add(session, contact)  # type: ignore[no-any-return]


async def _survey(
    session: AsyncSession, contact: Contact, external_id: str, status: SurveyStatus
) -> Survey:
    interaction = await _add(
        session,
        Interaction(
            source="zendesk",
            external_id=external_id,
            account_key="acme",
            kind="support_ticket",
            occurred_at=NOW - timedelta(days=5),
        ),
    )
    assert contact.id is not None
    await _add(session, InteractionContact(interaction_id=interaction.id, contact_id=contact.id))
    survey = Survey(
        interaction_id=interaction.id,
        contact_id=contact.id,
        account_key="acme",
        program="support-ces",
        metric="ces",
        question_version="ces-v1",
        status=status,
        due_at=NOW + timedelta(hours=1),
    )
    return await _add(session, survey)  # type: ignore[no-any-return]


async def _answer(
    session: AsyncSession,
    contact: Contact,
    external_id: str,
    *,
    score: int,
    comment: str | None,
    days_ago: int,
) -> Survey:
    survey = await _survey(session, contact, external_id, SurveyStatus.ANSWERED)
    response = Response(
        survey_id=survey.id,  # type: ignore[arg-type]
        account_key="acme",
        contact_id=contact.id,  # type: ignore[arg-type]
        metric="ces",
        kind="support_ticket",
        question_version="ces-v1",
        score=score,
        reasons=["speed"],
        comment=comment,
        respondent_platform="slack",
        respondent_user_id=contact.platform_user_id,
        answered_at=NOW - timedelta(days=days_ago),
    )
    await _add(session, response)
    return survey


def _delivery(key: str, purpose: str, subject_id: int | None, status: str) -> Delivery:
    return Delivery(
        dedupe_key=key,
        platform="slack",
        channel_key="slack:C1",
        action="post",
        purpose=purpose,
        subject_id=subject_id,
        payload={"message": {"contact_name": "@SUM(A1)", "comment": FORMULA_COMMENT}},
        status=status,
        next_attempt_at=NOW,
    )


async def seed(sessions: Sessions) -> Seeded:
    await prepare_database(core_for(sessions))
    async with sessions() as session, session.begin():
        maija = await _contact(session, "UMAIJA", "@SUM(A1)", "maija@example.com")
        matti = await _contact(session, "UMATTI", "Matti Virtanen", "matti@example.com")
        low = await _answer(session, maija, "ZD-1", score=2, comment=FORMULA_COMMENT, days_ago=9)
        await _answer(session, maija, "ZD-2", score=6, comment="-5 stars", days_ago=2)
        await _answer(session, matti, "ZD-3", score=5, comment="Great help", days_ago=1)
        maija_next = await _survey(session, maija, "ZD-4", SurveyStatus.SCHEDULED)
        matti_next = await _survey(session, matti, "ZD-5", SurveyStatus.SCHEDULED)
        prompt = await _add(session, _delivery("p", "survey_prompt", maija_next.id, "pending"))
        alert = await _add(session, Alert(survey_id=low.id, account_key="acme"))
        card = await _add(session, _delivery("a", "alert", alert.id, "done"))
        await _add(session, _delivery("m", "survey_prompt", matti_next.id, "pending"))
    return Seeded(maija.id, matti.id, maija_next.id, matti_next.id, prompt.id, card.id)  # type: ignore[arg-type]


async def figures(session: AsyncSession) -> tuple[int, float, int]:
    result = await session.exec(
        select(func.count(), func.avg(Response.score), func.sum(Response.score))
    )
    count, average, total = result.one()
    return count, float(average), total


@pytest.fixture
async def seeded(sessions: Sessions) -> Seeded:
    return await seed(sessions)


async def test_erase_blanks_the_person_and_keeps_the_figures(
    sessions: Sessions, seeded: Seeded
) -> None:
    async with sessions() as session:
        before = await figures(session)
    await privacy.erase_contact(core_for(sessions), seeded.maija, now=NOW)
    async with sessions() as session:
        expected: tuple[object, ...] = (3, pytest.approx(13 / 3), 13)
        assert await figures(session) == before == expected
        maija = await session.get(Contact, seeded.maija)
        responses = (await session.exec(select(Response).order_by(col(Response.id)))).all()
    assert maija is not None and maija.opted_out and maija.erased_at == NOW
    personal = (maija.name, maija.email, maija.platform, maija.platform_user_id, maija.locale)
    assert (*personal, maija.timezone) == (None,) * 6
    assert [(r.score, r.reasons, r.comment, r.respondent_user_id) for r in responses] == [
        (2, ["speed"], None, None),
        (6, ["speed"], None, None),
        (5, ["speed"], "Great help", "UMATTI"),
    ]


async def test_erase_suppresses_the_open_survey_and_drops_queued_messages(
    sessions: Sessions, seeded: Seeded
) -> None:
    result = await privacy.erase_contact(core_for(sessions), seeded.maija, now=NOW)
    assert (result.surveys_suppressed, result.deliveries_cancelled) == (1, 1)
    async with sessions() as session:
        mine = await session.get(Survey, seeded.maija_scheduled)
        other = await session.get(Survey, seeded.matti_scheduled)
        prompt = await session.get(Delivery, seeded.queued_prompt)
        card = await session.get(Delivery, seeded.alert_card)
        pending = await session.exec(select(Delivery).where(Delivery.status == "pending"))
    assert mine is not None and (mine.status, mine.suppressed_reason) == ("suppressed", "opted_out")
    assert other is not None and other.status == "scheduled"
    assert prompt is not None and (prompt.status, prompt.payload) == ("failed", {})
    assert card is not None and card.payload == {}
    assert [d.dedupe_key for d in pending.all()] == ["m"]


async def test_an_erased_contact_is_never_asked_again(sessions: Sessions, seeded: Seeded) -> None:
    core = core_for(sessions)
    await privacy.erase_contact(core, seeded.maija, now=NOW)
    async with sessions() as session, session.begin():
        contact = await session.get(Contact, seeded.maija)
        interaction = await _add(
            session,
            Interaction(
                source="zendesk",
                external_id="ZD-9",
                account_key="acme",
                kind="support_ticket",
                occurred_at=NOW,
            ),
        )
        assert contact is not None
        planned = await schedule(core, session, interaction, contact, core.config.programs[0], NOW)
    assert (planned.status, planned.reason) == ("suppressed", "opted_out")


async def test_erasing_twice_changes_nothing_more(sessions: Sessions, seeded: Seeded) -> None:
    core = core_for(sessions)
    first = await privacy.erase_contact(core, seeded.maija, now=NOW)
    again = await privacy.erase_contact(core, seeded.maija, now=NOW + timedelta(days=1))
    assert not first.already_erased and first.responses_blanked == 2
    counts = (again.responses_blanked, again.surveys_suppressed, again.deliveries_cancelled)
    assert again.already_erased and counts == (0, 0, 0)
    async with sessions() as session:
        maija = await session.get(Contact, seeded.maija)
    assert maija is not None and maija.erased_at == NOW


async def test_unknown_contact_is_not_found(sessions: Sessions, seeded: Seeded) -> None:
    core = core_for(sessions)
    with pytest.raises(NotFound, match="no contact with id 999"):
        await privacy.erase_contact(core, 999, now=NOW)
    with pytest.raises(NotFound):
        await privacy.export_contact(core, 999)


async def test_export_holds_everything_about_the_contact(
    sessions: Sessions, seeded: Seeded
) -> None:
    data = await privacy.export_contact(core_for(sessions), seeded.maija)
    assert json.loads(json.dumps(data)) == data
    assert data["contact"]["email"] == "maija@example.com"
    assert [i["external_id"] for i in data["interactions"]] == ["ZD-1", "ZD-2", "ZD-4"]
    assert [s["status"] for s in data["surveys"]] == ["answered", "answered", "scheduled"]
    assert [(r["score"], r["comment"]) for r in data["responses"]] == [
        (2, FORMULA_COMMENT),
        (6, "-5 stars"),
    ]
    assert [a["status"] for a in data["alerts"]] == ["open"]
