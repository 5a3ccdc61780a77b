"""Teams activities into core calls: card actions (Action.Execute invokes and the
Action.Submit fallback), @mention commands, the "Ask for feedback" message action, and the
conversation references that later proactive sends need."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from adapters.teams import card_ids, file_cards, roster
from adapters.teams.actions import ActionResult, run_action, shown_after
from adapters.teams.activity import card_message, command_words, request_id
from adapters.teams.ask import ask_for_feedback
from adapters.teams.file_consent import CsvFiles
from adapters.teams.outbound import message_activity
from bot.config.types import ChannelRef, PersonRef
from bot.core import Core
from bot.domain.roles import Caller, Listing, listed_caller, listed_outside
from bot.errors import DeliveryError
from bot.i18n import report_texts, texts
from bot.interfaces import chat
from bot.interfaces.chat import Invocation, Reply
from bot.messages import ReportMessage, Target, TextMessage

logger = logging.getLogger(__name__)

PLATFORM = "teams"
CARD_ACTION = "adaptiveCard/action"
MESSAGE_ACTION = "composeExtension/submitAction"
BOT_NAME = "cxbot"  # the app package's short name, when an activity does not say the bot's


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
    def __init__(
        self,
        *,
        core: Core,
        ours: frozenset[str],
        files: CsvFiles,
        roster_timeout: float = roster.IN_TURN_TIMEOUT,
    ) -> None:
        """`ours`: the tenants whose members are our staff (`roles.our_workspaces`)."""
        self._core = core
        self._ours = ours
        self._files = files
        self._roster_timeout = roster_timeout

    async def on_turn(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context.activity)
        key = self._delivery_key(turn_context.activity)
        if key is not None and await chat.was_delivered(self._core, key=key):
            logger.info("%s was delivered again: answered, nothing done again", key)
            if turn_context.activity.type == ActivityTypes.invoke:
                answer = await self._answer_again(turn_context)
                await turn_context.send_activity(
                    Activity(type=ActivityTypes.invoke_response, value=answer)
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
        """The sender, placed by the core on the facts: the tenant the activity names
        (`channelData.tenant.id`) and the roster's entry for them."""
        activity = turn_context.activity
        sender = activity.from_property
        who = PersonRef(platform=PLATFORM, user_id=person_id(sender))
        name = getattr(sender, "name", None) or None
        return await self._placed(
            turn_context, who, lookup_id=str(sender.id), name=name, said=tenant_of(activity)
        )

    async def _member(self, turn_context: TurnContext, user_id: str) -> Caller:
        """Someone picked on a card, placed (and named) by the roster alone."""
        who = PersonRef(platform=PLATFORM, user_id=user_id)
        return await self._placed(turn_context, who, lookup_id=user_id, name=None)

    async def _placed(
        self,
        turn_context: TurnContext,
        who: PersonRef,
        *,
        lookup_id: str,
        name: str | None,
        said: str | None = None,
    ) -> Caller:
        """The core places them on the roster's facts (fail closed: someone it does not
        know is external); when the roster cannot answer just now, unverified (told to try
        again)."""
        try:
            member = await self._lookup(turn_context, lookup_id)
        except DeliveryError as exc:
            logger.warning("the roster could not place %s: %s", lookup_id, exc)
            return Caller(person=who, external=True, unverified=True, name=name)
        placed = listed_caller(who, _listing(member), ours=self._ours, said=said)
        return replace(placed, name=name or (member.name if member else None))

    async def _lookup(self, turn_context: TurnContext, user_id: str) -> roster.Member | None:
        return await roster.lookup_in_turn(turn_context, user_id, within=self._roster_timeout)

    def _outside(self, member: roster.Member | None) -> bool:
        """Whether the core places this roster entry outside our staff (a guest, an
        anonymous participant, a member of a tenant not ours)."""
        return listed_outside(_listing(member), ours=self._ours) is True

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
        if name == CARD_ACTION:
            return await self._card_action(turn_context)
        if name == file_cards.INVOKE_NAME:
            return await self._files.answer(turn_context, await self.caller(turn_context))
        if name == MESSAGE_ACTION:
            return await self._message_action(turn_context)
        # Not 501 (botbuilder's default): no 5xx for what a client can send.
        return InvokeResponse(status=400, body={"error": f"unsupported invoke {name!r}"})

    async def _answer_again(self, turn_context: TurnContext) -> InvokeResponse:
        """A redelivered invoke (Teams did not get the first answer in time): the answer it
        should have had, and nothing done twice. A card action gets the card as it stands;
        asking about a message again says it was logged before; a file consent was
        answered in the chat the first time."""
        name = turn_context.activity.name
        if name == CARD_ACTION:
            return await self._card_action(turn_context, again=True)
        if name == MESSAGE_ACTION:
            return await self._message_action(turn_context)
        return InvokeResponse(status=200)

    async def _card_action(
        self, turn_context: TurnContext, *, again: bool = False
    ) -> InvokeResponse:
        """An Action.Execute, answered as the Universal Action Model asks: HTTP 200 whenever
        the bot looked at it, the outcome in the body's `statusCode`."""
        try:
            action = card_ids.parse_invoke(turn_context.activity.value)
        except ValueError as exc:
            logger.info("card action refused: %s", exc)
            return _card_error(str(exc))
        caller = await self.caller(turn_context)
        if again:
            return _invoke_answer(await shown_after(self._core, action, caller))
        members = partial(self._member, turn_context)
        shown_in = card_message(turn_context.activity)
        result = await run_action(self._core, action, caller, members=members, shown_in=shown_in)
        return _invoke_answer(result)

    async def _message_action(self, turn_context: TurnContext) -> InvokeResponse:
        text = await ask_for_feedback(
            self._core,
            turn_context,
            turn_context.activity.value,
            await self.caller(turn_context),
            self._customers,
        )
        return InvokeResponse(status=200, body={"task": {"type": "message", "value": text}})

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and card_ids.KEY in activity.value:
            await self._submitted(turn_context, activity.value)
            return
        await self._command(turn_context)

    async def _submitted(self, turn_context: TurnContext, value: dict[str, Any]) -> None:
        """The Action.Submit fallback of older clients: same action, answered in a message
        (in a channel only the clicker's own action changes anything)."""
        caller, members = await self.caller(turn_context), partial(self._member, turn_context)
        try:
            action = card_ids.parse_action(value)
        except ValueError:
            locale = await chat.caller_locale(
                self._core, caller=caller, channel=_channel(turn_context.activity)
            )
            await turn_context.send_activity(texts.t("card_not_understood", locale))
            return
        result = await run_action(self._core, action, caller, members=members)
        if result.note:
            await turn_context.send_activity(result.note)

    async def _command(self, turn_context: TurnContext) -> None:
        """`@cxbot report …`, `log …`, `help`: the same commands as Slack's `/cx`. A report
        asked for in a channel is sent to the asker's 1:1 chat, never to the channel; so is
        the offer of its CSV file."""
        activity = turn_context.activity
        caller = await self.caller(turn_context)
        channel = _channel(activity)
        words = command_words(activity)
        placed = await self._place(turn_context, chat.to_place(words.text, words.mentions))
        invocation = Invocation(
            caller=caller,
            text=words.text,
            channel=channel,
            # A mention names its person by the 29: id; the answer will carry the Entra
            # object id, so the people the roster placed go in by that.
            mentions=tuple(placed.ids.get(m, m) for m in words.mentions),
            customers=placed.customers,
            not_members=placed.not_members,
            names={placed.ids.get(m, m): n for m, n in words.names.items()} | placed.names,
            request_id=str(activity.id or ""),
            locale=await chat.caller_locale(self._core, caller=caller, channel=channel),
            private_here=_personal(activity),
            prefix=_prefix(activity),
        )
        reply = await chat.run_command(self._core, invocation)
        if reply.in_direct_chat or isinstance(reply.message, ReportMessage):
            await self._send_privately(turn_context, invocation, reply)
        else:
            await turn_context.send_activity(message_activity(reply.message))

    async def _place(self, turn_context: TurnContext, mentioned: tuple[str, ...]) -> _Placed:
        """Look the mentioned people a command needs placed up in the conversation's roster:
        their Entra object ids, names, and which are customers; who the roster does not
        know; or, when it cannot answer just now, no customers at all (None: try again)."""
        ids: dict[str, str] = {}
        names: dict[str, str] = {}
        customers: list[str] = []
        not_members: list[str] = []
        for mention in mentioned:
            try:
                member = await self._lookup(turn_context, mention)
            except DeliveryError as exc:
                logger.warning("the roster could not place mentioned %s: %s", mention, exc)
                return _Placed(ids=ids, names=names, customers=None)
            if member is None:
                not_members.append(mention)
                continue
            who = ids[mention] = member.person_id
            names |= {who: member.name} if member.name else {}
            customers += [who] if self._outside(member) else []
        return _Placed(ids, names, tuple(customers), tuple(not_members))

    async def _customers(
        self, turn_context: TurnContext, placed: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Which of these people are customers (guests, or members of another tenant).
        Someone the roster cannot place, now or at all, is not surveyed."""
        found = await self._place(turn_context, placed)
        return found.customers or ()

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


@dataclass(frozen=True)
class _Placed:
    """What the roster said of the people a command mentions (`CxTeamsBot._place`)."""

    ids: dict[str, str]
    names: dict[str, str]
    customers: tuple[str, ...] | None
    not_members: tuple[str, ...] = ()


def _listing(member: roster.Member | None) -> Listing | None:
    """What the roster says of a person, for the core to place them on."""
    if member is None:
        return None
    return Listing(tenant=member.tenant_id, role=member.role)


def _personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or "personal") == "personal"


def _card_error(message: str) -> InvokeResponse:
    """Card data that is not one of ours: HTTP 200 (the bot did process the invoke) with
    status 400 and an error object in the body, as the Universal Action Model says."""
    body = {
        "statusCode": 400,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "BadRequest", "message": message},
    }
    return InvokeResponse(status=200, body=body)


def _channel(activity: Activity) -> ChannelRef:
    """The conversation, without the thread a channel message names (`;messageid=…`)."""
    return ChannelRef(platform=PLATFORM, channel_id=activity.conversation.id.split(";")[0])


def _prefix(activity: Activity) -> str:
    """How a command starts here: a mention of the bot by its name in a channel or group
    chat, nothing in a 1:1 chat with it (Teams needs no mention there)."""
    if _personal(activity):
        return ""
    name = str(getattr(activity.recipient, "name", None) or "")
    kept = "".join(char for char in name if char.isalnum() or char in " ._-").strip()
    return f"@{kept or BOT_NAME}"


def _invoke_answer(result: ActionResult) -> InvokeResponse:
    """Universal Actions: the clicker sees the card their click leaves at once (the delivery
    queue updates it for everyone), or, on a refusal, a note only they see while the card
    stays as it was."""
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
