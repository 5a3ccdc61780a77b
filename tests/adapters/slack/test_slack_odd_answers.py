"""Hostile signature headers and odd platform answers: never a 500. A signature header
that slack_sdk's verifier cannot even read is a 401 that writes nothing; a users.info that
answers with something other than Slack's JSON, or a views.open whose trigger expired,
gets the person a private note to try again."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.i18n import texts
from storage.models import Alert, Interaction, ProcessedEvent, Response
from tests.adapters.slack.conftest import CUSTOMER, CUSTOMER_TEAM, SECRET, SlackWorld
from tests.adapters.slack.test_slack_flows import delivered_survey, reaction_event, rows
from tests.fakes.slack_signing import event_body, sign


def _signed_headers(body: bytes) -> dict[str, str]:
    return sign(body, secret=SECRET)


# Each: (body, headers) of a request only a forger sends.
def _hostile(kind: str) -> tuple[bytes, dict[str, str]]:
    body = event_body(reaction_event("Ev0HOSTILE")).encode()
    good = _signed_headers(body)
    match kind:
        case "timestamp abc":
            return body, {**good, "X-Slack-Request-Timestamp": "abc"}
        case "timestamp 1e99":
            return body, {**good, "X-Slack-Request-Timestamp": "1e99"}
        case "timestamp of 5000 digits":  # past int()'s digit limit: ValueError
            return body, {**good, "X-Slack-Request-Timestamp": "9" * 5000}
        case "no timestamp":
            return body, {"X-Slack-Signature": good["X-Slack-Signature"]}
        case "non-ASCII signature":
            return body, {**good, "X-Slack-Signature": "v0=" + "ä" * 64}
        case "body not UTF-8":
            raw = b"payload=\xff\xfe" + body
            return raw, {**_signed_headers(raw)}
    raise AssertionError(kind)


KINDS = [
    "timestamp abc",
    "timestamp 1e99",
    "timestamp of 5000 digits",
    "no timestamp",
    "non-ASCII signature",
    "body not UTF-8",
]


@pytest.mark.parametrize("kind", KINDS)
async def test_unreadable_signature_headers_are_401_and_write_nothing(
    slack: SlackWorld, kind: str
) -> None:
    body, headers = _hostile(kind)
    response = await slack.client.post(
        "/slack/events",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status == 401
    assert await rows(slack, Interaction) == 0
    assert await rows(slack, ProcessedEvent) == 0


# -- users.info answers that are not Slack's JSON -------------------------------------------

# (body, content type, status): an HTML error page from a proxy, the same with a 200, JSON
# that does not parse, a plain-text 200 and a JSON array (slack_sdk raises AttributeError on
# the last two, and SlackApiError carrying the raw aiohttp response on the third).
ODD_BODIES = {
    "HTML 502": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", 502),
    "HTML 200": (b"<html><body>Service unavailable</body></html>", "text/html", 200),
    "broken JSON": (b'{"ok": tru', "application/json", 200),
    "plain text": (b"upstream connect error", "text/plain", 200),
    "JSON array": (b"[1, 2, 3]", "application/json", 200),
}


@pytest.mark.parametrize("odd", ODD_BODIES.values(), ids=ODD_BODIES.keys())
async def test_a_command_when_users_info_answers_garbage_says_try_again(
    slack: SlackWorld, odd: tuple[bytes, str, int]
) -> None:
    raw, content_type, status = odd
    slack.fake.add_raw_response("users.info", raw, content_type=content_type, status=status)
    response = await slack.command(f"log meeting <@{CUSTOMER}|maija> Kickoff")
    assert response.status == 200
    answer = await response.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == texts.t("try_again", "fi")  # Acme's shared channel: Finnish
    assert await rows(slack, Interaction) == 0
    # Not remembered: once Slack answers again, the same command works.
    again = await (await slack.command(f"log meeting <@{CUSTOMER}|maija> Kickoff")).json()
    assert texts.t("survey_scheduled", "fi") in again["text"]


async def test_an_alert_action_when_users_info_fails_says_try_again(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 1)
    await slack.world.run()
    raw, content_type, status = ODD_BODIES["broken JSON"]
    slack.fake.add_raw_response("users.info", raw, content_type=content_type, status=status)
    response = await slack.interact(
        "block_actions_alert_assign",
        actions__0__block_id="cx_alert:1",
        actions__0__selected_user="U0SUPPORT1",
    )
    assert response.status == 200
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.assignee is None
    assert slack.fake.responses_posted[-1]["text"] == texts.t("try_again", "fi")  # Acme's team


async def test_ask_for_feedback_when_users_info_fails_says_try_again(slack: SlackWorld) -> None:
    slack.fake.add_raw_response("users.info", b"<html>502</html>", status=502)
    response = await slack.interact("message_shortcut")
    assert response.status == 200
    assert await rows(slack, Interaction) == 0
    assert slack.fake.responses_posted[-1]["text"] == texts.t("try_again", "fi")  # Acme's team


# -- views.open -------------------------------------------------------------------------------

EXPIRED = {"ok": False, "error": "expired_trigger_id"}


def _views_open_fails(slack: SlackWorld, how: str) -> None:
    if how == "expired_trigger_id":
        slack.fake.add_response("views.open", body=EXPIRED)
    else:
        slack.fake.add_raw_response("views.open", b"<html>502</html>", status=502)


@pytest.mark.parametrize("how", ["expired_trigger_id", "HTML 502"])
async def test_resolve_button_with_an_expired_trigger_says_try_again(
    slack: SlackWorld, how: str
) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 1)
    await slack.world.run()
    _views_open_fails(slack, how)
    response = await slack.interact(
        "block_actions_alert_ack",
        actions__0__action_id="cx_alert_resolve",
        actions__0__value="1",
        actions__0__block_id="cx_alert:1",
    )
    assert response.status == 200
    note = slack.fake.responses_posted[-1]
    assert note["response_type"] == "ephemeral"
    assert note["text"] == texts.t("try_again", "fi")  # in the alert's team's language


@pytest.mark.parametrize("how", ["expired_trigger_id", "HTML 502"])
async def test_tell_us_why_with_an_expired_trigger_says_try_again(
    slack: SlackWorld, how: str
) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 2)
    _views_open_fails(slack, how)
    response = await slack.interact(
        "block_actions_score",
        user__id=CUSTOMER,
        user__team_id=CUSTOMER_TEAM,
        actions__0__action_id="cx_why",
        actions__0__block_id=f"cx_thanks:{survey_id}",
        actions__0__value=str(survey_id),
    )
    assert response.status == 200
    assert slack.fake.responses_posted[-1]["text"] == texts.t("try_again", "fi")
    assert await rows(slack, Response) == 1  # the score itself stays stored
