"""Slack listeners for the account team: alert actions, `/cx`, the "Ask for feedback"
message shortcut. Customers (external users) may opt out and in, and nothing else."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack import blocks, ids
from adapters.slack.context import MalformedPayload, caller_of, field, text_field
from adapters.slack.handlers import say_privately, state_options, state_value
from adapters.slack.people import People
from bot import alerts, commands, texts
from bot.command_base import Invocation
from bot.config import ChannelRef, PersonRef
from bot.core import Core
from bot.roles import Caller, may_act_on_alert

logger = logging.getLogger(__name__)

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
    async def staff(body: dict[str, Any], context: Any, respond: Any) -> Caller | None:
        caller = await caller_of(body, context, people)
        if may_act_on_alert(caller):
            return caller
        await say_privately(respond, texts.t("not_for_customers", "en"))
        return None

    @bolt.action(ids.ALERT_ACK_ACTION)
    async def on_ack(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        alert_id = _alert_id(body)
        if caller := await staff(body, context, respond):
            await alerts.acknowledge(core, alert_id=alert_id, by=caller.person)
        await ack()

    @bolt.action(ids.ALERT_ASSIGN_ACTION)
    async def on_assign(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        alert_id = _alert_id(body)
        chosen = text_field(body, "actions", 0, "selected_user")
        if caller := await staff(body, context, respond):
            assignee = PersonRef(platform="slack", user_id=chosen)
            await alerts.assign(core, alert_id=alert_id, by=caller.person, assignee=assignee)
        await ack()

    @bolt.action(ids.ALERT_RESOLVE_ACTION)
    async def on_resolve(
        ack: Any, body: dict[str, Any], context: Any, respond: Any, client: Any
    ) -> None:
        alert_id = _alert_id(body)
        await ack()
        if await staff(body, context, respond):
            view = blocks.resolve_modal(alert_id=alert_id)
            await client.views_open(trigger_id=text_field(body, "trigger_id"), view=view)

    @bolt.view(ids.RESOLVE_MODAL)
    async def on_resolved(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        try:
            alert_id = ids.parse_metadata(text_field(view, "private_metadata"), ids.ALERT_ID_KEY)
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
        caller = await caller_of(body, context, people)
        if not may_act_on_alert(caller):
            refused = texts.t("not_for_customers", "en")
            await ack(response_action="errors", errors={ids.NOTE_BLOCK: refused})
            return
        values = field(view, "state", "values")
        await alerts.resolve(
            core,
            alert_id=alert_id,
            by=caller.person,
            outcome=state_value(values, ids.OUTCOME_BLOCK, ids.OUTCOME_ACTION) or "",
            note=state_value(values, ids.NOTE_BLOCK, ids.NOTE_ACTION),
            notify_customer=ids.NOTIFY_VALUE
            in state_options(values, ids.NOTIFY_BLOCK, ids.NOTIFY_ACTION),
        )
        await ack()


def register_command_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.command("/cx")
    async def on_command(ack: Any, body: dict[str, Any], context: Any) -> None:
        caller = await caller_of(body, context, people)
        text = str(body.get("text") or "")
        invocation = Invocation(
            caller=caller,
            text=text,
            channel=ChannelRef(platform="slack", channel_id=text_field(body, "channel_id")),
            mentions=tuple(MENTION.findall(text)),
            request_id=str(body.get("trigger_id") or ""),
            locale="en",
        )
        reply = await commands.run(core, invocation)
        await ack(response_type="ephemeral", **blocks.render(reply.message))
