"""Proactive sends through botbuilder's CloudAdapter: post a card to a stored conversation,
open a 1:1 chat in the contact's tenant when there is none yet, update a posted card.

Delivery guarantee: updates replace the card whole, so doing one twice shows the same. Posts
are at least once: the Bot Framework connector cannot list a conversation's messages, so
unlike Slack (`adapters.slack.posted`) a post whose outcome is unknown — the replica died
after the connector accepted it, or the call timed out — cannot be looked for, and is posted
again when its lease runs out or its retry comes. Reading the chat through Microsoft Graph
would close that window, at the price of Graph permissions the bot does not ask for now."""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from adapters.teams import cards, file_cards, roster, sizes
from adapters.teams.errors import call_teams, refused
from bot.core import Core
from bot.errors import DeliveryError, FailureKind, HoldScope
from bot.interfaces import chat
from bot.messages import (
    PLATFORM_CALL_TIMEOUT,
    DigestMessage,
    Message,
    MessageRef,
    ReportFile,
    Target,
)

logger = logging.getLogger(__name__)

PLATFORM = "teams"


def message_activity(message: Message) -> Activity:
    if isinstance(message, ReportFile):
        return attachment_activity(file_cards.offer_card(message))
    chart = None
    if isinstance(message, DigestMessage) and message.chart_png_base64:
        # Embedded: Teams shows data URIs, and no URL of ours has to be reachable.
        chart = f"data:image/png;base64,{message.chart_png_base64}"
    # The names the core knows go into the mentions and the lines that name people.
    names = getattr(message, "names", None) or None
    card = cards.render(message, chart_url=chart, names=names)
    activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    return activity


class _PersonalChat(ConversationParameters):  # type: ignore[misc]
    """botbuilder writes the tenant as `tenantID`; the Bot Framework's Create Conversation
    contract (and every Teams sample of it) spells it `tenantId`, so that is what is sent."""

    _attribute_map = {  # noqa: RUF012 -- msrest reads the class attribute
        **ConversationParameters._attribute_map,
        "tenant_id": {"key": "tenantId", "type": "str"},
    }


def personal_chat(member_id: str, *, tenant: str | None, bot_id: str | None) -> Any:
    """The documented body of `POST /v3/conversations` for a 1:1 chat: not a group, exactly
    one member by their `29:` id, the tenant both at the top (`tenantId`, which Teams
    requires) and in `channelData.tenant.id` (the docs' example), and the bot (`28:<app
    id>`) when it has an id (Microsoft Teams docs, "Proactive messages", "Create the
    conversation"; Bot Framework REST API reference, "Create Conversation")."""
    return _PersonalChat(
        is_group=False,
        bot=ChannelAccount(id=bot_id) if bot_id else None,
        members=[ChannelAccount(id=member_id)],
        tenant_id=tenant,
        channel_data={"tenant": {"id": tenant}} if tenant else None,
    )


def attachment_activity(attachment: file_cards.Attachment) -> Activity:
    """A message carrying one attachment other than an Adaptive Card (a file card)."""
    activity: Activity = MessageFactory.attachment(Attachment().deserialize(attachment))
    return activity


def _serialized(message: Message) -> dict[str, Any]:
    serialized: dict[str, Any] = message_activity(message).serialize()
    return serialized


def _prepare(turn: TurnContext) -> None:
    """Make a proactive turn send plainly: botbuilder sends a proactive message as a reply to
    its own made-up continuation event unless that event has no id. (The connector client
    already has the call timeout and no retries of its own: `connector_timeout`.)"""
    turn.activity.id = None


class Sender:
    def __init__(
        self,
        *,
        core: Core,
        cloud: CloudAdapter,
        app_id: str,
        tenant: str | None,
        timeout: float = PLATFORM_CALL_TIMEOUT,
    ) -> None:
        self._core = core
        self._timeout = timeout
        self._cloud = cloud
        self._app_id = app_id
        self._tenant = tenant

    async def post(self, target: Target, message: Message) -> MessageRef:
        """Post the message's card; one too large for a Teams message is refused before any
        call, saying in how many parts it fits (`adapters.teams.sizes`)."""
        try:
            parts = sizes.parts_needed(message, _serialized)
        except ValueError as exc:  # the renderer refuses it (a file offer's command too long)
            raise DeliveryError(f"teams: {exc}", kind=FailureKind.PERMANENT) from exc
        if parts > 1:
            size = sizes.measure(_serialized(message))
            raise DeliveryError(
                f"teams: the card is {size} bytes of UTF-16, over the budget of "
                f"{sizes.BUDGET}: it goes in {parts} parts",
                kind=FailureKind.TOO_LARGE,
                reason="MessageSizeTooBig",
                parts=parts,
            )
        return await self.send(target, message_activity(message))

    async def send(self, target: Target, activity: Activity) -> MessageRef:
        """Any activity (a card, a file offer) into the target's conversation."""
        reference = await self._reference(target)
        if target.thread_id:
            reference.conversation.id = f"{reference.conversation.id};messageid={target.thread_id}"
        sent: dict[str, str] = {}

        async def send(turn: TurnContext) -> None:
            _prepare(turn)
            response = await turn.send_activity(activity)
            sent["id"] = response.id if response else ""

        await call_teams(
            lambda: self._cloud.continue_conversation(reference, send, self._app_id),
            within=self._timeout,
        )
        return MessageRef(
            platform=PLATFORM,
            channel_id=reference.conversation.id,
            message_id=sent.get("id", ""),
            thread_id=target.thread_id,
            workspace=target.workspace,
        )

    async def update(self, ref: MessageRef, message: Message) -> None:
        stored = await chat.conversation_reference(
            self._core, platform=PLATFORM, conversation_id=ref.channel_id.split(";")[0]
        )
        if stored is None:
            raise DeliveryError(
                f"teams: no conversation {ref.channel_id}", kind=FailureKind.PERMANENT
            )
        reference = ConversationReference().deserialize(stored)
        reference.conversation.id = ref.channel_id
        activity = message_activity(message)
        activity.id = ref.message_id

        async def replace(turn: TurnContext) -> None:
            _prepare(turn)
            activity.conversation = turn.activity.conversation
            await turn.update_activity(activity)

        await call_teams(
            lambda: self._cloud.continue_conversation(reference, replace, self._app_id),
            within=self._timeout,
        )

    async def _reference(self, target: Target) -> ConversationReference:
        if target.channel_id:
            stored = await chat.conversation_reference(
                self._core, platform=PLATFORM, conversation_id=target.channel_id
            ) or await self._unannounced_channel(target)
            if stored is None:
                raise refused(
                    FailureKind.NEEDS_ADMIN,
                    f"cxbot is not in conversation {target.channel_id}",
                    scope=HoldScope.CHANNEL,
                )
            return ConversationReference().deserialize(stored)
        if not target.user_id:
            raise DeliveryError(
                "teams: a target needs a conversation or a user", kind=FailureKind.PERMANENT
            )
        stored = await chat.personal_reference(
            self._core, platform=PLATFORM, user_id=target.user_id
        )
        if stored is not None:
            return ConversationReference().deserialize(stored)
        return await self._open_personal(target.user_id, target.workspace or self._tenant)

    async def _unannounced_channel(self, target: Target) -> dict[str, Any] | None:
        """A channel the bot never heard from, in a tenant where it has a conversation: added
        to a team, the bot may post in each of its channels, but Teams announces only the
        one it was added in. The reference is that conversation's with this channel's id; if
        the bot is not in the channel's team after all, the connector refuses with 403
        (`BotNotInConversationRoster`), which holds the channel."""
        tenant = target.workspace or self._tenant
        known = await chat.tenant_reference(self._core, platform=PLATFORM, tenant_id=tenant)
        if known is None:
            return None
        channel = {"id": target.channel_id, "isGroup": True, "conversationType": "channel"}
        return {**known, "conversation": channel | ({"tenantId": tenant} if tenant else {})}

    async def _open_personal(self, user_id: str, tenant: str | None) -> ConversationReference:
        """A 1:1 chat with someone who never spoke to the bot, created in their tenant
        through the service URL of a conversation the bot already has there."""
        known = await chat.tenant_reference(self._core, platform=PLATFORM, tenant_id=tenant)
        if known is None:
            # No conversation of ours in the contact's tenant to open the chat through: a
            # customer's tenant need not ever install the app, so this person has no route.
            raise DeliveryError(
                f"teams: no route to {user_id} (tenant {tenant})", kind=FailureKind.PERMANENT
            )
        service_url = str(known.get("serviceUrl") or known.get("service_url") or "")
        member_id = user_id if user_id.startswith("29:") else await self._member_id(user_id, tenant)
        bot_id = f"28:{self._app_id}" if self._app_id else None
        parameters = personal_chat(member_id, tenant=tenant, bot_id=bot_id)
        created: dict[str, Any] = {}

        async def capture(turn: TurnContext) -> None:
            created["reference"] = TurnContext.get_conversation_reference(turn.activity)

        try:
            await call_teams(
                lambda: self._cloud.create_conversation(
                    self._app_id, capture, parameters, "msteams", service_url, None
                ),
                within=self._timeout,
            )
        except DeliveryError as exc:
            # Creating a 1:1 chat shows nothing, and creating it again gives the same chat
            # (Teams reuses it): whatever became of the call, nothing was posted.
            exc.maybe_delivered = False
            raise
        reference: ConversationReference = created["reference"]
        await chat.remember_conversation(
            self._core,
            platform=PLATFORM,
            conversation_id=reference.conversation.id,
            kind="personal",
            user_id=user_id,
            tenant_id=tenant,
            reference=reference.serialize(),
        )
        return reference

    async def _member_id(self, user_id: str, tenant: str | None) -> str:
        """The `29:` id a 1:1 chat is created with, for someone cxbot knows by their Entra
        object id: the roster of a team or group chat of the bot's in their tenant gives it.
        (An Entra object id as the member works only once the person has the app installed
        themselves, and then the bot already has their chat.)"""
        refused: DeliveryError | None = None
        rosters = await chat.roster_references(self._core, platform=PLATFORM, tenant_id=tenant)
        for stored in rosters:
            try:
                member = await self._lookup(ConversationReference().deserialize(stored), user_id)
            except DeliveryError as exc:
                if exc.kind is FailureKind.TRANSIENT:
                    raise
                refused = exc  # that roster is closed to the bot (403): try the next
                continue
            if member is not None:
                return member.id
        if refused is not None:
            raise refused
        raise DeliveryError(
            f"teams: {user_id} is in none of the bot's teams or chats in tenant {tenant}",
            kind=FailureKind.PERMANENT,
            reason="not_in_roster",
        )

    async def _lookup(self, reference: ConversationReference, user_id: str) -> roster.Member | None:
        found: dict[str, roster.Member | None] = {}

        async def look(turn: TurnContext) -> None:
            found["member"] = await roster.lookup_in_turn(turn, user_id, within=self._timeout)

        try:
            await call_teams(
                lambda: self._cloud.continue_conversation(reference, look, self._app_id),
                within=self._timeout,
            )
        except DeliveryError as exc:
            exc.maybe_delivered = False  # a lookup carries nothing out
            raise
        return found.get("member")


__all__ = ["ActivityTypes", "Sender", "message_activity"]
