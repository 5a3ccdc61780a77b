"""`report … --csv` in Teams: the CSV is offered with a FileConsentCard in the caller's 1:1
chat (a `bot.messages.ReportFile`, queued after the report), and on accept made again and
uploaded to the upload URL Teams gives (an upload session in the caller's OneDrive), then
shown with a FileInfoCard.

Nothing is stored between the offer and the answer, so any replica can take the answer: the
card's context holds the command and the requester (`file_cards.CsvOffer`), and the report is
run again, with the permissions of the person who answers, who must be the requester.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity
from yarl import URL

from adapters.teams import file_cards
from adapters.teams.file_cards import Consent, UploadInfo, text
from adapters.teams.outbound import attachment_activity, message_activity
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import DeliveryError, FailureKind, NotAllowed
from bot.interfaces import chat
from bot.interfaces.chat import Invocation
from bot.messages import ReportFile, TextMessage

logger = logging.getLogger(__name__)

PLATFORM = "teams"
# Teams waits about 15 seconds for an invoke's answer; the upload happens within it.
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=10)


def encode(csv: str) -> bytes:
    """UTF-8 with a byte order mark, so that spreadsheet programs read "Yhteensä" as written."""
    return csv.encode("utf-8-sig")


class CsvFiles:
    def __init__(self, *, core: Core, allow_http: bool = False) -> None:
        """`allow_http` lets a development setup upload to a plain-HTTP address; Teams itself
        only ever hands out HTTPS upload URLs."""
        self._core = core
        self._allow_http = allow_http

    def offer(self, invocation: Invocation, csv: str) -> ReportFile | None:
        """The offer of the report's CSV for the caller's 1:1 chat (a channel cannot receive
        files, and may be shared with the customer), which the delivery queue sends after
        the report; None when the command is too long for a card's context to carry."""
        now = self._core.now()
        _, args = chat.split_verb(invocation.text)
        file = ReportFile(
            args=args.strip(),
            asked_by=invocation.caller.person.user_id,
            locale=invocation.locale,
            asked_at=now,
            name=file_cards.file_name(now.date().isoformat()),
            size=len(encode(csv)),
        )
        try:
            file_cards.offer_of(file)
        except ValueError as exc:
            logger.warning("report CSV offer to %s not made: %s", invocation.caller.actor, exc)
            return None
        return file

    async def answer(self, turn_context: TurnContext, caller: Caller) -> InvokeResponse:
        """Every answer is a 200 and a message in the chat: the user clicked a Teams dialog,
        and an error status would show them only a generic failure."""
        await turn_context.send_activity(await self._reply(turn_context.activity.value, caller))
        return InvokeResponse(status=200)

    async def _reply(self, value: Any, caller: Caller) -> Activity:
        try:
            consent = file_cards.parse_consent(value)
        except ValueError as exc:
            logger.info("file consent from %s refused: %s", caller.actor, exc)
            locale = await chat.caller_locale(self._core, caller=caller, channel=None)
            return _note(text("stale", locale))
        offer = consent.context
        if offer.stale(self._core.now()):
            return _note(text("stale", offer.locale))
        if consent.action == "decline":
            return _note(text("declined", offer.locale))
        return await self._accepted(consent, caller)

    async def _accepted(self, consent: Consent, caller: Caller) -> Activity:
        """Run the report again as the caller is now allowed to see it, and upload it: the
        core refuses anyone but the person it was offered to."""
        offer = consent.context
        asker = PersonRef(platform=PLATFORM, user_id=offer.by)
        try:
            reply = await chat.report_for_file(
                self._core, caller=caller, asked_by=asker, args=offer.args, locale=offer.locale
            )
        except NotAllowed as exc:
            logger.info("file consent from %s for %s refused", caller.actor, offer.by)
            return _note(str(exc))
        if reply.csv is None:  # refused, or no longer a valid command
            return message_activity(reply.message)
        try:
            upload = _upload_info(consent)
            await self._put(upload.upload_url, encode(reply.csv))
        except DeliveryError as exc:
            logger.warning("report CSV for %s not uploaded: %s", caller.actor, exc)
            return _note(text("upload_failed", offer.locale))
        activity = attachment_activity(file_cards.info_card(upload))
        activity.text = text("uploaded", offer.locale)
        return activity

    async def _put(self, url: str, data: bytes) -> None:
        """One PUT of the whole file to the upload session, as Microsoft documents it."""
        schemes = ("https", "http") if self._allow_http else ("https",)
        size = len(data)
        headers = {"Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"}
        try:
            if URL(url).scheme not in schemes:
                raise DeliveryError(
                    "teams: the upload URL is not HTTPS", kind=FailureKind.PERMANENT
                )
            async with (
                aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as session,
                session.put(url, data=data, headers=headers) as response,
            ):
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"teams: file upload answered HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(f"teams: file upload failed: {type(exc).__name__}") from exc


def _upload_info(consent: Consent) -> UploadInfo:
    if consent.upload_info is None:
        raise DeliveryError(
            "teams: an accepted file consent without upload info", kind=FailureKind.PERMANENT
        )
    return consent.upload_info


def _note(note: str) -> Activity:
    return message_activity(TextMessage(text=note))
