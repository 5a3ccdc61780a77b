"""Slack users get Slack wording: `/cx` commands in mrkdwn (bold, code), in the language the
core decides (SPEC §2): a team's texts follow its team channel's locale (else its account's),
a customer's their own contact's locale (else their account's).

Requests are signed slash commands in the shape of `tests/payloads/slack/slash_command_*.json`
(Slack's "Implementing slash commands" docs: a form-encoded `command`, `text`, `user_id`,
`channel_id`, `response_url`, `trigger_id`), answered in the request's own response."""

from __future__ import annotations

import copy
from typing import Any

from bot.i18n import texts
from storage.engine import Sessions
from tests.adapters.slack.conftest import (
    CUSTOMER,
    CUSTOMER_TEAM,
    STAFF,
    SlackWorld,
    slack_config,
    slack_world,
)
from tests.adapters.slack.test_slack_flows import delivered_survey

TEAM = "C0TEAM0001"  # Acme's team channel
SHARED = "C0SHARED01"  # Acme's channel shared with the customer


async def answer(slack: SlackWorld, text: str, *, user: str = STAFF, channel: str = TEAM) -> str:
    """The mrkdwn of the private answer to `/cx <text>`."""
    response = await slack.command(text, user=user, channel=channel)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    assert body["response_type"] == "ephemeral"
    [section] = body["blocks"]
    assert section["text"]["type"] == "mrkdwn"
    return str(section["text"]["text"])


async def test_help_in_a_finnish_team_channel_is_finnish_mrkdwn(slack: SlackWorld) -> None:
    shown = await answer(slack, "help")
    assert shown.startswith("*Komennot*:\n")
    assert "• `/cx report [asiakas] [--days N | --since VVVV-KK-PP]" in shown
    assert "• `/cx log &lt;laji&gt; @yhteyshenkilö [huomio]`: kirjaa" in shown
    assert "• `/cx optout` / `/cx optin`: lopeta" in shown
    assert "@cxbot" not in shown and "\\" not in shown


async def test_usage_and_mistakes_follow_the_team(slack: SlackWorld) -> None:
    usage = await answer(slack, "log meeting", channel=SHARED)
    assert usage.startswith("Käyttö: `/cx log &lt;laji&gt; @yhteyshenkilö [huomio]`, esim.")
    mistake = await answer(slack, "report --days ten")
    assert mistake.startswith("`--days` ottaa kokonaisluvun väliltä 1–730, ei 'ten'\n\n")
    unknown = await answer(slack, "frobnicate")
    assert unknown.startswith("En tunne komentoa `frobnicate`.\n\n*Komennot*:")


async def test_the_teams_own_locale_beats_the_accounts_for_staff_not_customers(
    sessions: Sessions,
) -> None:
    config = copy.deepcopy(slack_config())
    config["teams"] = [{"channel": {"platform": "slack", "channel_id": TEAM}, "locale": "en"}]
    async with slack_world(sessions, config) as slack:
        # A teammate in Acme's shared channel reads their team's English ...
        shown = await answer(slack, "frobnicate", channel=SHARED)
        assert shown.startswith("I don't know the command `frobnicate`.\n\n*Commands*:")
        # ... while the customer there reads Acme's Finnish, with the command to undo it.
        opted = await answer(slack, "optout", user=CUSTOMER, channel=SHARED)
        assert opted == "Selvä: emme enää pyydä sinulta palautetta. `/cx optin` peruu tämän."
        refused = await answer(slack, "report", user=CUSTOMER, channel=SHARED)
        assert refused == texts.t("not_for_customers", "fi")


async def test_a_contacts_own_locale_beats_the_accounts(slack: SlackWorld) -> None:
    await slack.log("T-1", contacts=[{"platform": "slack", "user_id": CUSTOMER, "locale": "en"}])
    opted = await answer(slack, "optout", user=CUSTOMER, channel=SHARED)
    assert opted == "Done: we won't ask you for feedback any more. `/cx optin` undoes this."
    # Her teammates in Acme's team still read Finnish.
    assert (await answer(slack, "help")).startswith("*Komennot*:")


async def why(slack: SlackWorld, survey_id: int) -> str:
    """The customer's private note after "Tell us why" on survey `survey_id` (a
    `block_actions` payload as Slack sends for a button, `tests/payloads/slack`)."""
    response = await slack.interact(
        "block_actions_score",
        user__id=CUSTOMER,
        user__team_id=CUSTOMER_TEAM,
        actions__0__action_id="cx_why",
        actions__0__block_id=f"cx_thanks:{survey_id}",
        actions__0__value=str(survey_id),
    )
    assert response.status == 200
    return str(slack.fake.responses_posted[-1]["text"])


async def test_a_why_before_any_answer_is_told_in_the_customers_language(
    slack: SlackWorld,
) -> None:
    survey_id = await delivered_survey(slack)  # asked, not answered
    assert await why(slack, survey_id) == texts.t("survey_expired_note", "fi")


async def test_a_survey_that_is_gone_is_told_in_the_clickers_language(slack: SlackWorld) -> None:
    await slack.log("T-1")  # Maija becomes a contact of Acme, whose locale is Finnish
    assert await why(slack, 999) == texts.t("survey_expired_note", "fi")
