"""A score click end to end: what it stores before Slack gets its 200, what it queues after,
and that it needs no Slack Web API call of its own (issue: Slack click latency)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import Alert, AlertEvent, Delivery, Response, Survey
from tests.adapters.slack.conftest import CUSTOMER, CUSTOMER_TEAM, SlackWorld
from tests.adapters.slack.test_slack_flows import delivered_survey


async def stored(slack: SlackWorld) -> tuple[list[Response], Survey, list[Alert]]:
    async with slack.world.sessions() as session:
        responses = list((await session.exec(select(Response))).all())
        survey = (await session.exec(select(Survey))).one()
        alerts = list((await session.exec(select(Alert))).all())
        return responses, survey, alerts


async def queued_updates(slack: SlackWorld) -> int:
    async with slack.world.sessions() as session:
        rows = await session.exec(select(Delivery).where(Delivery.action == "update"))
        return len(rows.all())


async def test_a_click_calls_no_slack_api_before_its_200(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 4, user="U0EXTERN01")  # bolt's one auth.test happens here
    before = len(slack.fake.calls())
    response = await slack.click(survey_id, 4)
    assert response.status == 200
    assert len(slack.fake.calls()) == before  # no users.info, no chat.update, no auth.test
    [answer], survey, _ = await stored(slack)
    assert (answer.score, answer.respondent_user_id, survey.status) == (4, CUSTOMER, "answered")
    assert await queued_updates(slack) == 1  # the thank-you waits in the delivery queue


async def test_a_changed_score_changes_the_one_response_and_thanks_again(
    slack: SlackWorld,
) -> None:
    survey_id = await delivered_survey(slack)
    assert (await slack.click(survey_id, 6)).status == 200
    first_answered = (await stored(slack))[1].answered_at
    await slack.world.advance(timedelta(minutes=5))
    assert (await slack.click(survey_id, 5)).status == 200
    [answer], survey, alerts = await stored(slack)
    assert (answer.score, answer.revision, answer.changed_at is not None) == (5, 2, True)
    assert survey.answered_at == first_answered  # the first answer's time stays
    assert alerts == []  # 5 is no CES detractor
    await slack.world.run()
    assert len(slack.fake.calls("chat.update")) == 2


async def test_a_change_to_a_detractor_score_opens_an_alert(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 7)
    await slack.click(survey_id, 2)
    await slack.click(survey_id, 2)  # a double click of the new score changes nothing
    [answer], _, [alert] = await stored(slack)
    assert (answer.score, answer.revision, alert.survey_id) == (2, 2, survey_id)
    assert await queued_updates(slack) == 2


async def test_why_after_a_click_opens_the_form(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 2)
    response = await slack.interact(
        "block_actions_score",
        user__id=CUSTOMER,
        user__team_id=CUSTOMER_TEAM,
        actions__0__action_id="cx_why",
        actions__0__block_id=f"cx_thanks:{survey_id}",
        actions__0__value=str(survey_id),
    )
    assert response.status == 200
    view = slack.fake.payload("views.open")["view"]
    assert str(survey_id) in view["private_metadata"]


async def test_a_detractor_who_changes_their_mind_is_noted_on_the_alert(
    slack: SlackWorld,
) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 2)
    await slack.click(survey_id, 6)
    [answer], _, [alert] = await stored(slack)
    assert (answer.score, answer.revision) == (6, 2)
    async with slack.world.sessions() as session:
        events = await session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
        changes = [e.detail for e in events.all() if e.action == "score_changed"]
    assert changes == [{"score": 6}]
