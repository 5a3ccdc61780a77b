"""Slack listeners for the account team: alert actions, `/cx`, the "Ask for feedback"
message shortcut. Customers (external users) may opt out and in, and nothing else."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import blocks, blocks_report, ids
from adapters.slack.context import MalformedPayload, caller_of, field, text_field
from adapters.slack.delivery import call_slack
from adapters.slack.handlers import open_modal, say_privately, state_options, state_value
from adapters.slack.people import People
from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import DeliveryError, InvalidInput, NotAllowed
from bot.i18n import report_texts
from bot.interfaces import chat
from bot.interfaces.chat import Invocation, Reply
from bot.messages import ReportMessage

logger = logging.getLogger(__name__)

# The resolve modal's input blocks by the core's field names (`InvalidInput.field`).
_RESOLVE_BLOCKS = {
    "outcome": ids.OUTCOME_BLOCK,
    "note": ids.NOTE_BLOCK,
    "notify": ids.NOTIFY_BLOCK,
}

COMMAND = "/cx"  # the manifest's slash command
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def _alert_id(body: dict[str, Any]) -> int:
    action = field(body, "actions", 0)
    try:
        if action.get("value"):
            return ids.parse_id(str(action["value"]))
        return ids.parse_prefixed_id(text_field(action, "block_id"), ids.ALERT_BLOCK_PREFIX)
    except ValueError as exc:
        raise MalformedPayload(str(exc)) from exc


def register_alert_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.action(ids.ALERT_ACK_ACTION)
    async def on_ack(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        alert_id = _alert_id(body)
        caller = await caller_of(body, context, people)
        try:
            await chat.acknowledge(core, alert_id=alert_id, by=caller)
        except NotAllowed as exc:
            await say_privately(respond, str(exc))
        await ack()

    @bolt.action(ids.ALERT_ASSIGN_ACTION)
    async def on_assign(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        alert_id = _alert_id(body)
        chosen = text_field(body, "actions", 0, "selected_user")
        caller = await caller_of(body, context, people)
        # A users_select offers everyone in the channel's workspaces, customers too.
        assignee = await people.caller(user_id=chosen, user_team=None, context=context)
        try:
            await chat.assign(core, alert_id=alert_id, by=caller, assignee=assignee)
        except NotAllowed as exc:
            await say_privately(respond, str(exc))
        await ack()

    @bolt.action(ids.ALERT_RESOLVE_ACTION)
    async def on_resolve(
        ack: Any, body: dict[str, Any], context: Any, respond: Any, client: Any
    ) -> None:
        alert_id = _alert_id(body)
        await ack()
        try:
            caller = await caller_of(body, context, people)
            locale = await chat.start_resolving(core, alert_id=alert_id, by=caller)
        except NotAllowed as exc:
            await say_privately(respond, str(exc))
            return
        modal = blocks.resolve_modal(alert_id=alert_id, locale=locale)
        await open_modal(client, body, respond, modal, locale=locale)

    @bolt.view(ids.RESOLVE_MODAL)
    async def on_resolved(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        try:
            alert_id = ids.parse_metadata(text_field(view, "private_metadata"), ids.ALERT_ID_KEY)
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
        caller = await caller_of(body, context, people)
        values = field(view, "state", "values")
        try:
            await chat.resolve(
                core,
                alert_id=alert_id,
                by=caller,
                outcome=state_value(values, ids.OUTCOME_BLOCK, ids.OUTCOME_ACTION) or "",
                note=state_value(values, ids.NOTE_BLOCK, ids.NOTE_ACTION),
                notify_customer=ids.NOTIFY_VALUE
                in state_options(values, ids.NOTIFY_BLOCK, ids.NOTIFY_ACTION),
            )
        except NotAllowed as exc:
            await ack(response_action="errors", errors={ids.NOTE_BLOCK: str(exc)})
            return
        except InvalidInput as exc:
            # The modal stays open with the reason under the field it is about.
            block = _RESOLVE_BLOCKS.get(exc.field or "", ids.NOTE_BLOCK)
            await ack(response_action="errors", errors={block: str(exc)})
            return
        await ack()


def register_command_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.command(COMMAND)
    async def on_command(ack: Any, body: dict[str, Any], context: Any, client: Any) -> None:
        caller = await caller_of(body, context, people)
        raw = str(body.get("text") or "")
        channel = ChannelRef(platform="slack", channel_id=text_field(body, "channel_id"))
        locale = await chat.caller_locale(core, caller=caller, channel=channel)
        mentions = tuple(MENTION.findall(raw))
        invocation = Invocation(
            caller=caller,
            # Slack sends `&`, `<` and `>` of typed text as entities; mentions are read first.
            text=unescape_command_text(raw),
            channel=channel,
            mentions=mentions,
            customers=await _customers(people, context, chat.to_place(raw, mentions)),
            request_id=str(body.get("trigger_id") or ""),
            locale=locale,
            prefix=COMMAND,
        )
        reply = await chat.run_command(core, invocation)
        await ack(response_type="ephemeral", **await _answer(core, client, caller, reply))


async def _customers(
    people: People, context: Any, placed: tuple[str, ...]
) -> tuple[str, ...] | None:
    """Which of the people the command needs placed are customers; None if Slack could not
    say just now."""
    found = []
    for user_id in placed:
        person = await people.caller(user_id=user_id, user_team=None, context=context)
        if person.unverified:
            return None
        if person.external:
            found.append(user_id)
    return tuple(found)


def unescape_command_text(text: str) -> str:
    """The command as typed: Slack's three mrkdwn entities back to characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def _answer(core: Core, client: Any, caller: Caller, reply: Reply) -> dict[str, Any]:
    """The private answer; a report's CSV first goes to the caller's DM, never to the channel
    the command was typed in (that may be shared with the customer).

    The upload happens before the answer (bolt runs with process_before_response), so the
    answer can say truthfully where the file is. Slack's 3-second window covers both; the
    query and three small Web API calls fit in it, and if they do not, the file still lands.
    """
    message = reply.message
    if reply.csv is None or not isinstance(message, ReportMessage):
        return blocks.render(message)
    day = core.now().date().isoformat()
    sent = await _send_csv(client, caller.person.user_id, reply.csv, f"cx-report-{day}.csv")
    notice = report_texts.text("csv_sent" if sent else "csv_failed", message.locale)
    return blocks_report.report(message, notice=notice)


async def _send_csv(client: Any, user_id: str, csv_text: str, filename: str) -> bool:
    """Upload the CSV into the DM with the caller. UTF-8 with a byte order mark, so that
    spreadsheet programs read "Yhteensä" as written."""
    try:
        opened = await call_slack(lambda: client.conversations_open(users=user_id))
        channel = str(opened["channel"]["id"])
        await call_slack(
            lambda: client.files_upload_v2(
                channel=channel, content=csv_text.encode("utf-8-sig"), filename=filename,
                title=filename,
            )
        )  # fmt: skip
    except (DeliveryError, KeyError, TypeError) as exc:
        logger.warning("report CSV for %s not uploaded: %s", user_id, exc)
        return False
    return True
