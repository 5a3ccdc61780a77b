"""Slack listeners for survey answers: a score click, "tell us why" and its modal.

Each listener is a thin translation: read the payload, call the core, acknowledge. The
answer is stored before `ack()`, so a click that Slack shows as done is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import blocks, ids
from adapters.slack.context import MalformedPayload, field, respondent_of, text_field
from adapters.slack.people import CALL_FAILURES, People
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import NotFound, NotYourSurvey, SurveyClosed
from bot.i18n import texts
from bot.interfaces import chat
from bot.messages import MessageRef

logger = logging.getLogger(__name__)

SCORE_ACTION = re.compile(rf"^{re.escape(ids.SCORE_ACTION_PREFIX)}\d+$")
# Slack waits 3 s for a request's answer, and bolt answers only once the listener returns
# (process_before_response): a response_url that hangs must not hold the answer past that.
PRIVATE_NOTE_SECONDS = 2.0


async def say_privately(respond: Any, text: str) -> None:
    """Through the request's response_url, which every real request we answer so carries."""
    if not respond.response_url:
        raise MalformedPayload("the payload has no response_url to answer through")
    try:
        async with asyncio.timeout(PRIVATE_NOTE_SECONDS):
            answer = await respond(text=text, response_type="ephemeral", replace_original=False)
    except CALL_FAILURES as exc:
        # The request itself was handled (an answer is stored first): only the note is lost.
        # The type alone: a response_url is a credential for the clicker's message.
        logger.warning("private note through response_url failed: %s", type(exc).__name__)
        return
    if answer.status_code >= 400:
        logger.warning("private note through response_url refused: HTTP %s", answer.status_code)


async def open_modal(
    client: Any, body: dict[str, Any], respond: Any, view: Any, *, locale: str
) -> None:
    """views.open must follow the click within 3 s (trigger_id), so it is called here
    directly rather than through the delivery queue; it posts nothing to a channel. A
    trigger that expired (`expired_trigger_id` after a slow hop) or an answer that is not
    Slack's own is the clicker's private note to try again, never a 500."""
    try:
        await client.views_open(trigger_id=text_field(body, "trigger_id"), view=view)
    except CALL_FAILURES as exc:
        logger.info("views.open failed (%s): asking the clicker to try again", exc)
        await say_privately(respond, texts.t("try_again", locale))


def clicked_message(body: dict[str, Any]) -> MessageRef | None:
    """The message whose button was clicked: a block_actions payload's `container`
    (`message_ts`, `channel_id`, `thread_ts`), else its `message.ts` and `channel.id`.
    None for an ephemeral message (it cannot be updated) or a payload without either."""
    container = _object(body.get("container"))
    message, channel = _object(body.get("message")), _object(body.get("channel"))
    if container.get("is_ephemeral") is True:
        return None
    ts = container.get("message_ts") or message.get("ts")
    channel_id = container.get("channel_id") or channel.get("id")
    thread = container.get("thread_ts") or message.get("thread_ts")
    if not (isinstance(ts, str) and ts and isinstance(channel_id, str) and channel_id):
        return None
    thread_id = thread if isinstance(thread, str) and thread != ts else None
    return MessageRef(platform="slack", channel_id=channel_id, message_id=ts, thread_id=thread_id)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def refusal(
    core: Core, exc: NotYourSurvey | SurveyClosed | NotFound, respondent: Caller
) -> str:
    """The clicker's note; a survey that is gone has no language of its own, so the note is
    in the clicker's."""
    if isinstance(exc, NotYourSurvey):
        name = (
            f"<@{exc.contact_user_id}>" if exc.contact_user_id else blocks.escape(exc.contact_name)
        )
        return texts.t("not_your_survey", exc.locale, name=name)
    if isinstance(exc, SurveyClosed):
        return texts.t("survey_expired_note", exc.locale)
    locale = await chat.caller_locale(core, caller=respondent, channel=None)
    return texts.t("survey_expired_note", locale)


def register_survey_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.action(SCORE_ACTION)
    async def on_score(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        try:
            survey_id, score = ids.parse_score_value(text_field(body, "actions", 0, "value"))
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
        respondent = respondent_of(body, context, people)
        try:
            await chat.record_answer(
                core,
                survey_id=survey_id,
                score=score,
                respondent=respondent,
                shown_in=clicked_message(body),
            )
        except (NotYourSurvey, SurveyClosed, NotFound) as exc:
            await ack()
            await say_privately(respond, await refusal(core, exc, respondent))
            return
        await ack()

    @bolt.action(ids.WHY_ACTION)
    async def on_why(
        ack: Any, body: dict[str, Any], context: Any, client: Any, respond: Any
    ) -> None:
        try:
            survey_id = ids.parse_id(text_field(body, "actions", 0, "value"))
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
        await ack()
        respondent = respondent_of(body, context, people)
        try:
            answered = await chat.answered_survey(core, survey_id=survey_id, respondent=respondent)
        except (NotYourSurvey, SurveyClosed, NotFound) as exc:
            await say_privately(respond, await refusal(core, exc, respondent))
            return
        view = blocks.why_modal(
            survey_id=survey_id,
            locale=answered.locale,
            metric=answered.metric,
            score=answered.score,
        )
        await open_modal(client, body, respond, view, locale=answered.locale)

    @bolt.view(ids.WHY_MODAL)
    async def on_why_submitted(
        ack: Any, body: dict[str, Any], context: Any, view: dict[str, Any]
    ) -> None:
        try:
            survey_id = ids.parse_metadata(text_field(view, "private_metadata"), ids.SURVEY_ID_KEY)
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
        values = field(view, "state", "values")
        respondent = respondent_of(body, context, people)
        try:
            await chat.record_reasons(
                core,
                survey_id=survey_id,
                respondent=respondent,
                reasons=state_options(values, ids.REASONS_BLOCK, ids.REASONS_ACTION),
                comment=state_value(values, ids.COMMENT_BLOCK, ids.COMMENT_ACTION),
            )
        except (NotYourSurvey, SurveyClosed, NotFound) as exc:
            note = await refusal(core, exc, respondent)
            await ack(response_action="errors", errors={ids.COMMENT_BLOCK: note})
            return
        await ack()


def _state(values: Any, block: str, action: str) -> dict[str, Any]:
    state = values.get(block, {}) if isinstance(values, dict) else {}
    state = state.get(action, {}) if isinstance(state, dict) else {}
    return state if isinstance(state, dict) else {}


def state_options(values: Any, block: str, action: str) -> list[str]:
    """The values of the options chosen in a checkboxes input of a submitted view."""
    options = _state(values, block, action).get("selected_options") or []
    if not isinstance(options, list):
        return []
    return [str(o["value"]) for o in options if isinstance(o, dict) and o.get("value")]


def state_value(values: Any, block: str, action: str) -> str | None:
    """A text input's value, or a static select's chosen option value."""
    state = _state(values, block, action)
    option = state.get("selected_option")
    value = option.get("value") if isinstance(option, dict) else state.get("value")
    return value if isinstance(value, str) else None
