"""Teams activities into core calls: card actions (Action.Execute invokes and the
Action.Submit fallback), @mention commands, the "Ask for feedback" message action, and the
conversation references that later proactive sends need."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from adapters.teams import card_ids, file_cards
from adapters.teams.actions import ActionResult, run_action
from adapters.teams.activity import card_message, command_words, request_id
from adapters.teams.ask import ask_for_feedback
from adapters.teams.file_consent import CsvFiles
from adapters.teams.outbound import message_activity
from bot.config.types import ChannelRef, PersonRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.i18n import report_texts, texts
from bot.interfaces import chat
from bot.interfaces.chat import Invocation, Reply
from bot.messages import ReportMessage, Target, TextMessage

logger = logging.getLogger(__name__)

PLATFORM = "teams"
ASK_COMMAND = "cx_ask_feedback"


def person_id(account: Any) -> str:
    """The id cxbot knows a Teams user by: the Entra object id when Teams gives one."""
    return str(getattr(account, "aad_object_id", None) or account.id)


def tenant_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    found = (tenant.get("id") if isinstance(tenant, dict) else None) or getattr(
        activity.conversation, "tenant_id", None
    )
    return str(found) if found else None


class CxTeamsBot(ActivityHandler):  # type: ignore[misc]
    def __init__(self, *, core: Core, home_tenant: str | None, files: CsvFiles) -> None:
        self._core = core
        self._home_tenant = home_tenant
        self._files = files

    async def on_turn(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context.activity)
        key = self._delivery_key(turn_context.activity)
        if key is not None and await chat.was_delivered(self._core, key=key):
            logger.info("%s was delivered again: ignored", key)
            if turn_context.activity.type == ActivityTypes.invoke:
                await turn_context.send_activity(
                    Activity(
                        type=ActivityTypes.invoke_response,
                        value=_invoke_answer(ActionResult(note="")),
                    )
                )
            return
        await super().on_turn(turn_context)
        if key is not None:
            await chat.first_delivery(self._core, key=key)

    @staticmethod
    def _delivery_key(activity: Activity) -> str | None:
        if activity.type not in ("message", "invoke") or not activity.id:
            return None
        return f"teams:{activity.conversation.id}:{activity.id}"

    async def _remember(self, activity: Activity) -> None:
        """Keep the reference of every conversation the bot is spoken to or added in."""
        conversation = activity.conversation
        if conversation is None or not conversation.id:
            return
        personal = (conversation.conversation_type or "personal") == "personal"
        conversation_id = conversation.id.split(";")[0]
        # The reference names the conversation itself: in a channel the activity's id carries
        # the thread it came from (`;messageid=…`), and a proactive post must not land there.
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = conversation_id
        reference.activity_id = None
        await chat.remember_conversation(
            self._core,
            platform=PLATFORM,
            conversation_id=conversation_id,
            kind="personal" if personal else str(conversation.conversation_type),
            user_id=person_id(activity.from_property)
            if personal and activity.from_property
            else None,
            tenant_id=tenant_of(activity),
            reference=reference.serialize(),
        )

    async def caller(self, turn_context: TurnContext) -> Caller:
        """Guests and people from another tenant are customers."""
        activity = turn_context.activity
        who = PersonRef(platform=PLATFORM, user_id=person_id(activity.from_property))
        tenant = tenant_of(activity)
        if self._home_tenant and tenant and tenant != self._home_tenant:
            return Caller(person=who, external=True)
        # Unknown to the roster: a customer (fail closed).
        outside = await self._outside(turn_context, activity.from_property.id)
        return Caller(person=who, external=outside is not False)

    async def _member(self, turn_context: TurnContext, user_id: str) -> Caller:
        """Someone picked on a card, placed by the roster: a guest, a member of another
        tenant, or someone the roster does not know (fail closed) is external."""
        who = PersonRef(platform=PLATFORM, user_id=user_id)
        return Caller(person=who, external=await self._outside(turn_context, user_id) is not False)

    async def _outside(self, turn_context: TurnContext, user_id: str) -> bool | None:
        """Whether the roster places this person outside our tenant (a guest, or a member of
        another tenant); None when it cannot place them, which each caller fails closed on."""
        try:
            member = await TeamsInfo.get_member(turn_context, user_id)
        except Exception:  # noqa: BLE001 -- fail closed: the roster cannot place them
            logger.info("member %s not found in the roster", user_id)
            return None
        role = str(getattr(member, "user_role", "") or "").lower()
        tenant = getattr(member, "tenant_id", None)
        foreign = bool(self._home_tenant and tenant and tenant != self._home_tenant)
        return role == "guest" or foreign

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        """A conversationUpdate whose `membersAdded` names the bot itself: cxbot was added to
        a team or a group chat (its reference is stored by now, `_remember`). What was held
        there for want of it goes out at once; added to a team, it may now post in the
        team's other channels too, which the event does not list."""
        activity = turn_context.activity
        bot_id = getattr(activity.recipient, "id", None)
        if not bot_id or all(member.id != bot_id for member in members_added or ()):
            return
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        await chat.joined_channel(
            self._core,
            platform=PLATFORM,
            channel_id=activity.conversation.id.split(";")[0],
            whole_team=isinstance(data.get("team"), dict),
        )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        name = turn_context.activity.name
        value = turn_context.activity.value
        if name == "adaptiveCard/action":
            try:
                action = card_ids.parse_invoke(value)
            except ValueError as exc:
                return _bad_invoke(str(exc))
            caller, members = await self.caller(turn_context), partial(self._member, turn_context)
            shown_in = card_message(turn_context.activity)
            result = await run_action(
                self._core, action, caller, members=members, shown_in=shown_in
            )
            return _invoke_answer(result)
        if name == file_cards.INVOKE_NAME:
            return await self._files.answer(turn_context, await self.caller(turn_context))
        if name == "composeExtension/submitAction":
            text = await ask_for_feedback(
                self._core, turn_context, value, await self.caller(turn_context), self._customers
            )
            return InvokeResponse(status=200, body={"task": {"type": "message", "value": text}})
        # Not 501 (botbuilder's default): no 5xx for what a client can send.
        return _bad_invoke(f"unsupported invoke {name!r}")

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and card_ids.KEY in activity.value:
            await self._submitted(turn_context, activity.value)
            return
        await self._command(turn_context)

    async def _submitted(self, turn_context: TurnContext, value: dict[str, Any]) -> None:
        """The Action.Submit fallback of older clients: same action, answered in a message
        (in a channel only the clicker's own action changes anything)."""
        try:
            action = card_ids.parse_action(value)
        except ValueError:
            await turn_context.send_activity(texts.t("unknown_command", "en", verb="?"))
            return
        caller, members = await self.caller(turn_context), partial(self._member, turn_context)
        result = await run_action(self._core, action, caller, members=members)
        if result.note:
            await turn_context.send_activity(result.note)

    async def _command(self, turn_context: TurnContext) -> None:
        """`@cxbot report …`, `log …`, `help`: the same commands as Slack's `/cx`. A report
        asked for in a channel is sent to the asker's 1:1 chat, never to the channel; so is
        the offer of its CSV file."""
        activity = turn_context.activity
        caller = await self.caller(turn_context)
        channel = ChannelRef(platform=PLATFORM, channel_id=activity.conversation.id.split(";")[0])
        mentions, text = command_words(activity)
        invocation = Invocation(
            caller=caller,
            text=text,
            channel=channel,
            mentions=mentions,
            customers=await self._customers(turn_context, chat.to_place(text, mentions)),
            request_id=str(activity.id or ""),
            locale=chat.channel_locale(self._core, channel),
            private_here=_personal(activity),
        )
        reply = await chat.run_command(self._core, invocation)
        if reply.in_direct_chat or isinstance(reply.message, ReportMessage):
            await self._send_privately(turn_context, invocation, reply)
        else:
            await turn_context.send_activity(message_activity(reply.message))

    async def _customers(
        self, turn_context: TurnContext, placed: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Which of these people are customers (guests, or members of another tenant).
        Someone the roster cannot place is not surveyed."""
        return tuple([u for u in placed if await self._outside(turn_context, u) is True])

    async def _send_privately(
        self, turn_context: TurnContext, invocation: Invocation, reply: Reply
    ) -> None:
        """A report goes through the delivery queue, to the asker's 1:1 chat, wherever it was
        asked (in the 1:1 chat too): there it is sent in parts if Teams would refuse it whole
        as too large, and waits out a 429, and its CSV file's offer follows it. Keyed on the
        asking activity, so that Teams redelivering it queues one report."""
        activity, caller = turn_context.activity, invocation.caller
        file = self._files.offer(invocation, reply.csv) if reply.csv is not None else None
        await chat.queue_report(
            self._core,
            target=Target(platform=PLATFORM, user_id=caller.person.user_id),
            message=reply.message,
            actor=caller.actor,
            asked=f"{activity.conversation.id}:{request_id(activity)}",
            file=file,
        )
        if reply.csv is not None and file is None:
            failed = report_texts.text("csv_failed", invocation.locale)
            await turn_context.send_activity(message_activity(TextMessage(text=failed)))
        if reply.notice is not None:
            await turn_context.send_activity(message_activity(reply.notice))


def _personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or "personal") == "personal"


def _bad_invoke(message: str) -> InvokeResponse:
    return InvokeResponse(
        status=400,
        body={
            "statusCode": 400,
            "type": "application/vnd.microsoft.error",
            "value": {"code": "BadRequest", "message": message},
        },
    )


def _invoke_answer(result: ActionResult) -> InvokeResponse:
    """Universal Actions: the clicker sees the refreshed card at once (the delivery queue
    updates it for everyone), or a note only they see."""
    if result.card is not None:
        body = {
            "statusCode": 200,
            "type": "application/vnd.microsoft.card.adaptive",
            "value": result.card,
        }
    else:
        body = {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": result.note or "",
        }
    return InvokeResponse(status=200, body=body)
