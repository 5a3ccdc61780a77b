"""The survey loop through the core's public functions, on a real database, with a frozen
clock and a recording adapter (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from bot.alerts import workflow
from bot.config.types import PersonRef
from bot.domain.roles import Caller
from bot.errors import DeliveryError, FailureKind, InvalidInput, NotYourSurvey, SurveyClosed
from bot.messages import AlertCard, SurveyClosedNotice, SurveyPrompt, ThankYou
from bot.surveys import answers, intake, timeline
from storage.engine import Sessions
from storage.models import Alert, AlertEvent, Interaction, Response, Survey
from tests.support.world import CUSTOMER, World, interaction, staff

MONDAY_10_HELSINKI = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions).start()


async def count(world: World, model: type, *where: ColumnElement[bool] | bool) -> int:
    async with world.sessions() as session:
        result = await session.exec(select(func.count()).select_from(model).where(*where))
        return int(result.one())


async def only_survey(world: World) -> Survey:
    async with world.sessions() as session:
        return (await session.exec(select(Survey))).one()


async def log(world: World, external_id: str = "T-1", **kwargs: object) -> intake.Logged:
    item = interaction(external_id, occurred_at=world.clock(), **kwargs)  # type: ignore[arg-type]
    return (await intake.log_interactions(world.core, [item]))[0]


async def test_full_loop_asks_in_thread_thanks_and_alerts(world: World) -> None:
    logged = await log(world)
    assert logged.created and logged.surveys[0].status == "scheduled"
    assert logged.surveys[0].due_at == MONDAY_10_HELSINKI + timedelta(minutes=15)

    await world.run()
    assert world.adapter.posts == []  # not due yet: 15 minutes' delay
    await world.advance(timedelta(minutes=15))

    [posted] = world.adapter.posts
    assert isinstance(posted.message, SurveyPrompt)
    assert (posted.target.channel_id, posted.target.thread_id) == ("CSHARED", "1700000000.000100")
    assert posted.message.mention_user_id == "UCUST"
    assert posted.message.locale == "fi"
    assert posted.message.question == "Kuinka helppoa asiointi kanssamme oli?"
    assert [b.score for b in posted.message.buttons] == list(range(1, 8))
    survey = await only_survey(world)
    assert survey.status == "sent" and survey.message_ref is not None

    answer = await answers.record_answer(
        world.core, survey_id=survey.id or 0, score=2, respondent=CUSTOMER
    )
    assert answer.changed and answer.alert_id is not None
    await world.run()

    [thanks] = world.adapter.updates
    assert isinstance(thanks.message, ThankYou) and thanks.message.score == 2
    assert thanks.ref == posted.ref
    [alert_post] = [p for p in world.adapter.posts if isinstance(p.message, AlertCard)]
    assert alert_post.target.channel_id == "CTEAM"
    assert isinstance(alert_post.message, AlertCard)
    assert alert_post.message.score == 2 and alert_post.message.account_name == "Acme Oy"
    assert await count(world, Response) == 1


async def test_logging_the_same_interaction_twice_changes_nothing(world: World) -> None:
    first = await log(world)
    second = await log(world, note="sent again with other details")
    assert first.created and not second.created
    assert second.interaction_id == first.interaction_id
    assert await count(world, Interaction) == 1
    assert await count(world, Survey) == 1
    async with world.sessions() as session:
        stored = (await session.exec(select(Interaction))).one()
    assert stored.note is None


async def test_a_batch_with_an_unknown_account_writes_nothing(world: World) -> None:
    good = interaction("T-1", occurred_at=world.clock())
    bad = interaction("T-2", occurred_at=world.clock(), account="initech")
    with pytest.raises(InvalidInput) as caught:
        await intake.log_interactions(world.core, [good, bad])
    assert caught.value.field == "interactions[1].account"
    assert await count(world, Interaction) == 0


async def sent_survey(world: World) -> Survey:
    await log(world)
    await world.advance(timedelta(minutes=15))
    return await only_survey(world)


async def test_double_click_is_one_response_and_a_new_score_replaces_it(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    again = await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    assert not again.changed
    await world.run()
    assert len(world.adapter.updates) == 1

    changed = await answers.record_answer(world.core, survey_id=sid, score=7, respondent=CUSTOMER)
    assert changed.changed
    await world.run()
    async with world.sessions() as session:
        [response] = (await session.exec(select(Response))).all()
    assert (response.score, response.revision) == (7, 2)
    assert [u.message.score for u in world.adapter.updates] == [6, 7]  # type: ignore[union-attr]


async def test_someone_else_cannot_answer(world: World) -> None:
    survey = await sent_survey(world)
    stranger = Caller(person=PersonRef(platform="slack", user_id="UOTHER"), external=True)
    with pytest.raises(NotYourSurvey) as caught:
        await answers.record_answer(
            world.core, survey_id=survey.id or 0, score=7, respondent=stranger
        )
    assert caught.value.contact_user_id == "UCUST"
    assert await count(world, Response) == 0


async def test_out_of_scale_score_is_refused(world: World) -> None:
    survey = await sent_survey(world)
    with pytest.raises(InvalidInput):
        await answers.record_answer(
            world.core, survey_id=survey.id or 0, score=8, respondent=CUSTOMER
        )
    assert await count(world, Response) == 0


async def test_one_reminder_then_expiry_closes_the_buttons(world: World) -> None:
    survey = await sent_survey(world)
    await world.advance(timedelta(hours=23))
    assert len(world.adapter.posts) == 1
    await world.advance(timedelta(hours=1))
    reminders = [p for p in world.adapter.posts if isinstance(p.message, SurveyPrompt)]
    prompts = [p.message for p in reminders if isinstance(p.message, SurveyPrompt)]
    assert [m.reminder for m in prompts] == [False, True]
    await world.advance(timedelta(hours=24))
    assert len(world.adapter.posts) == 2  # still one reminder only

    await world.advance(timedelta(hours=24))
    closed = [u for u in world.adapter.updates if isinstance(u.message, SurveyClosedNotice)]
    assert {u.ref.message_id for u in closed} == {p.ref.message_id for p in reminders}
    assert (await only_survey(world)).status == "expired"
    with pytest.raises(SurveyClosed):
        await answers.record_answer(
            world.core, survey_id=survey.id or 0, score=5, respondent=CUSTOMER
        )


async def test_open_survey_and_cooldown_suppress_with_reasons(world: World) -> None:
    await sent_survey(world)
    second = await log(world, "T-2")
    assert (second.surveys[0].status, second.surveys[0].reason) == ("suppressed", "duplicate")

    survey = await only_survey_of(world, "T-1")
    await answers.record_answer(world.core, survey_id=survey.id or 0, score=7, respondent=CUSTOMER)
    world.clock.advance(timedelta(days=3))
    third = await log(world, "T-3")
    assert third.surveys[0].reason == "cooldown"
    world.clock.advance(timedelta(days=5))
    fourth = await log(world, "T-4")
    assert fourth.surveys[0].status == "scheduled"


async def only_survey_of(world: World, external_id: str) -> Survey:
    async with world.sessions() as session:
        query = select(Survey).join(Interaction).where(Interaction.external_id == external_id)
        return (await session.exec(query)).one()


async def test_contact_without_platform_id_is_not_routable(world: World) -> None:
    item = interaction("T-9", occurred_at=world.clock()).model_copy(
        update={
            "contacts": (
                interaction("x", occurred_at=world.clock())
                .contacts[0]
                .model_copy(update={"platform": None, "user_id": None, "email": "a@example.com"}),
            )
        }
    )
    [logged] = await intake.log_interactions(world.core, [item])
    assert (logged.surveys[0].status, logged.surveys[0].reason) == ("suppressed", "no_route")


async def test_undeliverable_survey_is_suppressed_not_left_hanging(world: World) -> None:
    await log(world)
    world.adapter.fail_next.append(DeliveryError("channel_not_found", kind=FailureKind.PERMANENT))
    await world.advance(timedelta(minutes=15))
    survey = await only_survey(world)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "no_route")


async def test_promoter_gets_no_alert_and_alert_steps_are_audited(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    assert await count(world, Alert) == 0

    changed = await answers.record_answer(world.core, survey_id=sid, score=1, respondent=CUSTOMER)
    assert changed.alert_id is not None
    await world.run()
    lead = staff("UAM")
    await workflow.acknowledge(world.core, alert_id=changed.alert_id, by=lead)
    await workflow.acknowledge(world.core, alert_id=changed.alert_id, by=lead)  # double click
    resolved = await workflow.resolve(
        world.core, alert_id=changed.alert_id, by=lead, outcome="contacted", note="Called them"
    )
    assert resolved.status == "resolved" and resolved.acknowledged_by == "slack:UAM"
    async with world.sessions() as session:
        actions = (await session.exec(select(AlertEvent.action).order_by(col(AlertEvent.id)))).all()
    assert list(actions) == ["opened", "acknowledged", "resolved"]
    await world.run()
    cards = [u.message for u in world.adapter.updates if isinstance(u.message, AlertCard)]
    assert cards[-1].status == "resolved" and cards[-1].resolution == "contacted — Called them"


async def test_reasons_and_comment_reach_the_alert(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    await answers.record_answer(world.core, survey_id=sid, score=1, respondent=CUSTOMER)
    await world.run()
    await answers.record_answer(world.core, survey_id=sid, score=1, respondent=CUSTOMER)
    await answers.record_reasons(
        world.core,
        survey_id=sid,
        respondent=CUSTOMER,
        reasons=["speed", "speed"],
        comment="  <!channel> too slow  ",
    )
    await world.run()
    cards = [u.message for u in world.adapter.updates if isinstance(u.message, AlertCard)]
    assert cards[-1].comment == "<!channel> too slow" and cards[-1].reasons == ("speed",)
    with pytest.raises(InvalidInput):
        await answers.record_reasons(
            world.core, survey_id=sid, respondent=CUSTOMER, reasons=["vibes"], comment=None
        )


async def test_an_old_interaction_is_not_asked_about(world: World) -> None:
    item = interaction("OLD-1", occurred_at=world.clock() - timedelta(days=30))
    [logged] = await intake.log_interactions(world.core, [item])
    assert (logged.surveys[0].status, logged.surveys[0].reason) == ("suppressed", "stale")
    recent = interaction("NEW-1", occurred_at=world.clock() - timedelta(days=2))
    [fresh] = await intake.log_interactions(world.core, [recent])
    assert fresh.surveys[0].status == "scheduled"
    assert fresh.surveys[0].due_at == world.clock()  # overdue already: asked at once


async def test_a_comment_made_while_the_alert_card_waits_still_reaches_it(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    world.adapter.fail_next.append(DeliveryError("ratelimited", retry_after=30))
    await answers.record_answer(world.core, survey_id=sid, score=1, respondent=CUSTOMER)
    await world.run()  # the thank-you goes first; the card meets the 429
    await answers.record_reasons(
        world.core, survey_id=sid, respondent=CUSTOMER, reasons=["speed"], comment="Too slow"
    )
    await world.advance(timedelta(seconds=31))
    await world.run()
    cards = [p.message for p in world.adapter.posts if isinstance(p.message, AlertCard)]
    updates = [u.message for u in world.adapter.updates if isinstance(u.message, AlertCard)]
    assert len(cards) == 1
    assert (cards + updates)[-1].comment == "Too slow"


async def test_a_reminder_posted_after_the_answer_loses_its_buttons(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    world.clock.advance(timedelta(hours=24))
    await timeline.send_reminders(world.core)  # queued, not yet delivered
    await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    await world.run()
    reminder = [p for p in world.adapter.posts if isinstance(p.message, SurveyPrompt)][-1]
    assert isinstance(reminder.message, SurveyPrompt)
    assert reminder.message.reminder
    replaced = [u for u in world.adapter.updates if u.ref == reminder.ref]
    assert replaced and isinstance(replaced[-1].message, ThankYou)


async def test_the_answer_returns_the_thank_you_the_prompt_gives_way_to(world: World) -> None:
    """Every adapter shows the core's thank-you (none builds its own), clicked or queued."""
    sid = (await sent_survey(world)).id or 0
    answer = await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    await world.run()
    [queued] = [u.message for u in world.adapter.updates if isinstance(u.message, ThankYou)]
    assert answer.thank_you == queued
    assert (answer.thank_you.locale, answer.thank_you.score) == ("fi", 6)
    assert answer.thank_you.why_prompt and not answer.thank_you.reasons_saved
    again = await answers.record_answer(world.core, survey_id=sid, score=6, respondent=CUSTOMER)
    assert not again.changed and again.thank_you == queued  # a double click: the same
    saved = await answers.record_reasons(
        world.core, survey_id=sid, respondent=CUSTOMER, reasons=["speed"], comment=None
    )
    assert saved == queued.model_copy(update={"reasons_saved": True})
