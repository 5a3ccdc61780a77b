"""Slack Connect: who counts as staff is decided from the installation (auth.test on our bot
token, the accounts' configured workspaces), never from a request's own `team`, which Slack
sets to the acting user's workspace in a shared channel. Each staff-only action is tried in
both shapes a customer's request can come in: `team` naming our workspace (as in the other
fixtures here), and `team` naming the customer's own, as in bolt-python's Slack Connect
capture (tests/scenario_tests/test_view_submission.py, `connect_channel_payload`: team.id,
user.team_id and view.team_id all "T-other-side", view.app_installed_team_id the installed
workspace)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from adapters.slack.people import People
from bot.config.schema import parse_config
from bot.i18n import texts
from storage.models import Alert, AlertEvent, Interaction
from tests.adapters.slack.conftest import CUSTOMER, CUSTOMER_TEAM, STAFF, SlackWorld, slack_config
from tests.adapters.slack.test_slack_flows import delivered_survey, rows
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import command_body, interactivity_body, load_payload

VENDOR = "T0VENDOR"  # the fake's auth.test team: the workspace our bot token belongs to
COLLEAGUE = "U0SUPPORT1"  # a teammate in our workspace (the fake's default team)

# (payload team, and for views app_installed_team_id) of a customer's request.
CUSTOMER_SHAPES = {
    "team is ours": {"team": VENDOR, "installed": VENDOR},
    "team is the customer's": {"team": CUSTOMER_TEAM, "installed": None},
}


async def open_alert(slack: SlackWorld) -> Alert:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 1)
    await slack.world.run()
    async with slack.world.sessions() as session:
        return (await session.exec(select(Alert))).one()


async def the_alert(slack: SlackWorld) -> Alert:
    async with slack.world.sessions() as session:
        return (await session.exec(select(Alert))).one()


def as_actor(user: str, team: str) -> dict[str, Any]:
    return {"user__id": user, "user__team_id": team, "team__id": team}


@pytest.mark.parametrize("shape", CUSTOMER_SHAPES.values(), ids=CUSTOMER_SHAPES.keys())
async def test_a_customer_cannot_acknowledge_an_alert(
    slack: SlackWorld, shape: dict[str, Any]
) -> None:
    alert = await open_alert(slack)
    response = await slack.interact(
        "block_actions_alert_ack",
        **{**as_actor(CUSTOMER, CUSTOMER_TEAM), "team__id": shape["team"]},
        actions__0__value=str(alert.id),
        actions__0__block_id=f"cx_alert:{alert.id}",
    )
    assert response.status == 200
    assert (await the_alert(slack)).status == "open"
    # The refusal is in the alert's team's language (Acme's, Finnish).
    assert slack.fake.responses_posted[-1]["text"] == texts.t("not_for_customers", "fi")


async def test_staff_in_the_shared_channel_can_acknowledge(slack: SlackWorld) -> None:
    alert = await open_alert(slack)
    response = await slack.interact(
        "block_actions_alert_ack",
        **as_actor(STAFF, VENDOR),
        actions__0__value=str(alert.id),
        actions__0__block_id=f"cx_alert:{alert.id}",
    )
    assert response.status == 200
    assert (await the_alert(slack)).status == "acknowledged"


async def command_as(slack: SlackWorld, text: str, *, user: str, team: str) -> Any:
    fields = load_payload(
        "slash_command_report", text=text, user_id=user, team_id=team, channel_id="C0SHARED01"
    )
    fields["response_url"] = slack.fake.response_url("command")
    return await (await slack.signed(command_body(**fields))).json()


@pytest.mark.parametrize("team", [VENDOR, CUSTOMER_TEAM])
async def test_a_customer_cannot_log_an_interaction_about_our_staff(
    slack: SlackWorld, team: str
) -> None:
    """Before, a customer whose command named their own team counted as staff, and our own
    account manager, "external" to that team, was logged to be surveyed."""
    answer = await command_as(slack, f"log meeting <@{STAFF}|anna> Sync", user=CUSTOMER, team=team)
    assert "only" in answer["text"] or "vain" in answer["text"]
    assert await rows(slack, Interaction) == 0


async def test_staff_in_the_shared_channel_can_log(slack: SlackWorld) -> None:
    answer = await command_as(
        slack, f"log meeting <@{CUSTOMER}|maija> Kickoff", user=STAFF, team=VENDOR
    )
    # Said in Acme's team's language, Finnish.
    assert texts.t("survey_scheduled", "fi") in answer["text"]
    assert await rows(slack, Interaction) == 1


@pytest.mark.parametrize("team", [VENDOR, CUSTOMER_TEAM])
async def test_a_customer_cannot_ask_for_feedback_on_our_staffs_message(
    slack: SlackWorld, team: str
) -> None:
    response = await slack.interact(
        "message_shortcut", **{**as_actor(CUSTOMER, CUSTOMER_TEAM), "team__id": team},
        message__user=STAFF,
    )  # fmt: skip
    assert response.status == 200
    assert await rows(slack, Interaction) == 0
    # A customer of Acme is told in Acme's language.
    assert slack.fake.responses_posted[-1]["text"] == texts.t("not_for_customers", "fi")


async def test_staff_can_ask_for_feedback_on_a_customers_message(slack: SlackWorld) -> None:
    response = await slack.interact("message_shortcut", **as_actor(STAFF, VENDOR))
    assert response.status == 200
    assert await rows(slack, Interaction) == 1


def resolve_view(alert_id: int, *, team: str, installed: str | None) -> dict[str, Any]:
    view: dict[str, Any] = load_payload("view_submission_resolve")["view"]
    view["private_metadata"] = json.dumps({"alert_id": alert_id})
    view["team_id"] = team
    if installed is None:
        del view["app_installed_team_id"]
    else:
        view["app_installed_team_id"] = installed
    return view


@pytest.mark.parametrize("shape", CUSTOMER_SHAPES.values(), ids=CUSTOMER_SHAPES.keys())
async def test_a_customer_cannot_resolve_an_alert_through_the_modal(
    slack: SlackWorld, shape: dict[str, Any]
) -> None:
    alert = await open_alert(slack)
    assert alert.id is not None
    view = resolve_view(alert.id, team=shape["team"], installed=shape["installed"])
    payload = load_payload(
        "view_submission_resolve",
        **{**as_actor(CUSTOMER, CUSTOMER_TEAM), "team__id": shape["team"]},
    )
    payload["view"] = view
    response = await slack.signed(interactivity_body(payload))
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert (await the_alert(slack)).status == "open"


async def test_staff_can_resolve_through_the_modal(slack: SlackWorld) -> None:
    alert = await open_alert(slack)
    assert alert.id is not None
    response = await slack.interact(
        "view_submission_resolve",
        **as_actor(STAFF, VENDOR),
        view=resolve_view(alert.id, team=VENDOR, installed=VENDOR),
    )
    assert response.status == 200
    assert (await the_alert(slack)).status == "resolved"


# -- assignment ------------------------------------------------------------------------------


async def assign(slack: SlackWorld, alert: Alert, user: str) -> None:
    response = await slack.interact(
        "block_actions_alert_assign",
        **as_actor(STAFF, VENDOR),
        actions__0__block_id=f"cx_alert:{alert.id}",
        actions__0__selected_user=user,
    )
    assert response.status == 200


async def test_an_alert_cannot_be_assigned_to_a_customer(slack: SlackWorld) -> None:
    alert = await open_alert(slack)
    slack.fake.add_user("U0EXTERN01", team_id=CUSTOMER_TEAM, real_name="Liisa")
    await assign(slack, alert, "U0EXTERN01")
    assert (await the_alert(slack)).assignee is None
    async with slack.world.sessions() as session:
        actions = (await session.exec(select(AlertEvent.action))).all()
    assert list(actions) == ["opened"]
    note = slack.fake.responses_posted[-1]
    assert note["response_type"] == "ephemeral"
    assert note["text"] == texts.t("assignee_not_staff", "fi")


async def test_the_assignee_is_mentioned_in_the_alerts_thread(slack: SlackWorld) -> None:
    alert = await open_alert(slack)
    assert alert.message_ref is not None
    await assign(slack, alert, COLLEAGUE)
    assert (await the_alert(slack)).assignee == f"slack:{COLLEAGUE}"
    await slack.world.run()
    threads = [
        c.params
        for c in slack.fake.calls("chat.postMessage")
        if c.params.get("thread_ts") == alert.message_ref["message_id"]
    ]
    assert len(threads) == 1
    assert threads[0]["channel"] == "C0TEAM0001"
    assert f"<@{COLLEAGUE}>" in threads[0]["text"]


# -- OAuth: the installation a request names is not proof that it is ours ----------------------


async def test_with_oauth_only_the_configured_workspaces_are_ours() -> None:
    """With OAuth, bolt finds the installation by the request's team, and anyone can
    install the app from /slack/install: a customer's workspace with its own installation
    must not make the customer staff."""
    config = slack_config()
    config["accounts"][0]["workspace"] = VENDOR
    people = People(
        client=AsyncWebClient(token="xoxb-unused"), config=parse_config(config), oauth=True
    )
    theirs = {"authorize_result": AuthorizeResult(enterprise_id=None, team_id=CUSTOMER_TEAM)}
    customer = await people.caller(user_id=CUSTOMER, user_team=CUSTOMER_TEAM, context=theirs)
    staff = await people.caller(user_id=STAFF, user_team=VENDOR, context=theirs)
    assert (customer.external, staff.external) == (True, False)


async def test_people_forget_the_least_recently_seen_user_past_their_bound() -> None:
    """A long-running process meets ever more users: their home teams are kept for a
    bounded number of them, the least recently seen forgotten (and asked again) first."""
    async with FakeSlackAPI() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
        people = People(client=client, config=parse_config(slack_config()), oauth=False, remember=2)
        for user_id in ("U01", "U02", "U01", "U03", "U01", "U02"):
            await people.caller(user_id=user_id, user_team=None, context={})
        asked = [call.params["user"] for call in fake.calls("users.info")]
    assert asked == ["U01", "U02", "U03", "U02"]
