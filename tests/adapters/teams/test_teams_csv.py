"""`report … --csv` on Teams end to end: the FileConsentCard in the caller's 1:1 chat, the
`fileConsent/invoke` answer, the upload to the URL Teams gives, and the FileInfoCard."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

from aiohttp import ClientResponse
from sqlmodel import col, select

from adapters.teams import file_cards
from bot.i18n import report_texts, texts
from storage.models import Delivery
from tests.adapters.teams.conftest import (
    GUEST_AAD,
    LEAD_AAD,
    LEAD_ID,
    STAFF_AAD,
    STAFF_ID,
    TeamsWorld,
)
from tests.fakes.bot_connector import (
    CREATE_CONVERSATION,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    TENANT_ID,
)

LEAD = {"id": LEAD_ID, "name": "Eero Lahti", "aadObjectId": LEAD_AAD}
STAFF = {"id": STAFF_ID, "name": "Aino Virtanen", "aadObjectId": STAFF_AAD}
# A ticket owner typed into the interactions API, as a spreadsheet would read it: a formula.
FORMULA_OWNER = '=HYPERLINK("http://evil.invalid","open")'
SCORES = {FORMULA_OWNER: (6, 7, 5), "Aino": (2, 4, 3)}
_ESCAPED = re.compile(r"\\(.)")
ADAPTIVE = "application/vnd.microsoft.card.adaptive"


async def installed(teams: TeamsWorld) -> None:
    assert (await teams.activity("installation_update_personal")).status in (200, 201)
    assert (await teams.activity("conversation_update_team")).status in (200, 201)


async def answered_surveys(teams: TeamsWorld) -> None:
    """Three CES answers per owner, each from a different customer contact."""
    await installed(teams)
    logged: list[tuple[int, str, int]] = []
    for owner, scores in SCORES.items():
        for index, score in enumerate(scores):
            contact = f"{GUEST_AAD[:-2]}{len(logged):02d}"
            # A guest in the team: its roster gives the 29: id their 1:1 chat is opened with.
            name = f"Asiakas {index}"
            teams.fake.add_member(
                f"29:1{contact}", name=name, aad_object_id=contact, user_role="guest"
            )
            found = await teams.log(
                f"T-{len(logged)}",
                owner=owner,
                contacts=[{"platform": "teams", "user_id": contact, "name": name}],
            )
            logged.append((int(found["surveys"][0]["survey_id"]), contact, score))
    await teams.world.advance(timedelta(minutes=15))
    for survey_id, contact, score in logged:
        clicker = {"from": {"id": f"29:{contact}", "aadObjectId": contact}}
        data = {"cx": "score", "survey_id": survey_id, "score": score}
        assert (await teams.card_action(data, **clicker)).status == 200
    await teams.world.advance(timedelta(minutes=1))


async def ask(teams: TeamsWorld, command: str, who: dict[str, str] = LEAD) -> None:
    response = await teams.activity(
        "message_mention_report", text=f"<at>cxbot</at> {command}", **{"from": who}
    )
    assert response.status in (200, 201)
    await teams.world.run()


def attachments(teams: TeamsWorld, content_type: str) -> list[tuple[dict[str, Any], Any]]:
    """(activity, attachment) for every attachment of this type the bot sent."""
    return [
        (activity, attachment)
        for activity in teams.fake.activities_sent
        for attachment in activity.get("attachments") or []
        if attachment.get("contentType") == content_type
    ]


def said(teams: TeamsWorld) -> list[str]:
    """The text of every card the bot sent, as the reader sees it (markdown escapes gone)."""
    cards = attachments(teams, "application/vnd.microsoft.card.adaptive")
    return [
        _ESCAPED.sub(r"\1", block["text"])
        for _, card in cards
        for block in card["content"]["body"]
        if block.get("type") == "TextBlock"
    ]


def the_offer(teams: TeamsWorld) -> tuple[str, dict[str, Any]]:
    """The one consent card the bot sent, and the conversation it went to."""
    [(conversation_id, card)] = [
        (str(call.conversation_id), attachment)
        for call in teams.fake.calls(SEND_TO_CONVERSATION)
        for attachment in call.body.get("attachments") or []
        if attachment["contentType"] == file_cards.CONSENT_CONTENT_TYPE
    ]
    return conversation_id, card


async def answer(
    teams: TeamsWorld,
    action: str,
    context: Any,
    *,
    who: dict[str, str] = LEAD,
    upload: dict[str, Any] | None = None,
) -> ClientResponse:
    """The invoke Teams sends when `who` clicks Allow or Decline on the consent card."""
    conversation_id, _ = the_offer(teams)
    value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": context}
    if upload is not None:
        value["uploadInfo"] = upload
    conversation = {"conversationType": "personal", "tenantId": TENANT_ID, "id": conversation_id}
    return await teams.activity(
        "invoke_file_consent", value=value, conversation=conversation, **{"from": who}
    )


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, as spreadsheets want it
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def offered(teams: TeamsWorld, command: str = "report nordic --csv") -> dict[str, Any]:
    await installed(teams)
    await ask(teams, command)
    return the_offer(teams)[1]


def info_cards(teams: TeamsWorld) -> list[dict[str, Any]]:
    return [card for _, card in attachments(teams, file_cards.INFO_CONTENT_TYPE)]


async def test_a_leads_csv_is_offered_in_the_1to1_chat_and_uploaded_on_accept(
    teams: TeamsWorld,
) -> None:
    await answered_surveys(teams)
    await ask(teams, "report nordic --by owner --csv")
    conversation_id, card = the_offer(teams)
    assert conversation_id.startswith("a:")  # the lead's 1:1 chat, never the shared channel
    day = teams.world.clock().date().isoformat()
    assert card["name"] == f"cx-report-{day}.csv"
    context = card["content"]["acceptContext"]
    assert context == card["content"]["declineContext"]
    assert (context["by"], context["args"]) == (LEAD_AAD, "nordic --by owner --csv")

    upload = teams.fake.files.upload_info(card["name"])
    response = await answer(teams, "accept", context, upload=upload)

    assert response.status == 200
    [put] = teams.fake.files.uploads
    size = len(put.data)
    assert card["content"]["sizeInBytes"] == size
    assert put.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    assert put.headers["Content-Length"] == str(size)
    header, *rows = read_csv(put.data)
    assert header[:2] == ["group", "n"]
    ces = header.index("CES mean")
    expected = [(f"'{FORMULA_OWNER}", 3, mean(SCORES[FORMULA_OWNER]))]
    expected += [("Aino", 3, mean(SCORES["Aino"])), ("Total", 6, mean(sum(SCORES.values(), ())))]
    assert [(row[0], int(row[1]), float(row[ces])) for row in rows] == expected
    [info] = info_cards(teams)
    assert info == {
        "contentType": "application/vnd.microsoft.teams.card.file.info",
        "contentUrl": upload["contentUrl"],
        "name": card["name"],
        "content": {"uniqueId": upload["uniqueId"], "fileType": "csv"},
    }
    [reply] = [c for c in teams.fake.calls(REPLY_TO_ACTIVITY) if info in c.body["attachments"]]
    assert reply.conversation_id == conversation_id


async def test_a_csv_asked_in_the_1to1_chat_follows_the_report_there(teams: TeamsWorld) -> None:
    await installed(teams)
    chat = {"conversationType": "personal", "tenantId": TENANT_ID, "id": "a:1LeadChat"}
    response = await teams.activity(
        "message_personal_help", text="report --csv", conversation=chat, **{"from": LEAD}
    )
    assert response.status in (200, 201)
    assert teams.fake.activities_sent == []  # both go through the delivery queue
    await teams.world.run()
    conversation_id, card = the_offer(teams)
    assert conversation_id == "a:1LeadChat"
    sent = [c for c in teams.fake.activities_sent if c["conversation"]["id"] == "a:1LeadChat"]
    assert "Customer feedback report" in json.dumps(sent[0])  # the report, then the offer
    assert sent[-1]["attachments"] == [card]


async def test_a_decline_uploads_nothing(teams: TeamsWorld) -> None:
    card = await offered(teams)
    response = await answer(teams, "decline", card["content"]["declineContext"])
    assert response.status == 200
    assert teams.fake.files.uploads == [] and info_cards(teams) == []
    assert said(teams)[-1] == file_cards.text("declined", "en")


async def test_a_failed_upload_tells_the_user(teams: TeamsWorld) -> None:
    card = await offered(teams)
    teams.fake.files.fail_next(503)
    upload = teams.fake.files.upload_info(card["name"])
    response = await answer(teams, "accept", card["content"]["acceptContext"], upload=upload)
    assert response.status == 200
    assert len(teams.fake.files.uploads) == 1 and info_cards(teams) == []
    assert said(teams)[-1] == file_cards.text("upload_failed", "en")


async def test_a_guests_csv_is_refused(teams: TeamsWorld) -> None:
    await installed(teams)
    response = await teams.activity("message_guest_report", text="<at>cxbot</at> report --csv")
    assert response.status in (200, 201)
    await teams.world.run()
    assert attachments(teams, file_cards.CONSENT_CONTENT_TYPE) == []
    assert said(teams)[-1] == texts.t("not_for_customers", "en")


async def test_someone_elses_accept_is_refused(teams: TeamsWorld) -> None:
    card = await offered(teams)
    upload = teams.fake.files.upload_info(card["name"])
    context = card["content"]["acceptContext"]
    response = await answer(teams, "accept", context, who=STAFF, upload=upload)
    assert response.status == 200
    assert teams.fake.files.uploads == [] and info_cards(teams) == []
    assert said(teams)[-1] == report_texts.text("csv_not_yours", "en")


async def test_permissions_are_checked_again_on_accept(teams: TeamsWorld) -> None:
    """Aino is on Nordic's team only: a context changed to another account gets nothing."""
    await installed(teams)
    await ask(teams, "report --csv", who=STAFF)
    _, card = the_offer(teams)
    forged = card["content"]["acceptContext"] | {"args": "acme --csv"}
    upload = teams.fake.files.upload_info(card["name"])
    response = await answer(teams, "accept", forged, who=STAFF, upload=upload)
    assert response.status == 200
    assert teams.fake.files.uploads == [] and info_cards(teams) == []
    assert "'acme' is not one of them" in said(teams)[-1]


async def test_a_stale_or_unknown_offer_is_refused(teams: TeamsWorld) -> None:
    card = await offered(teams)
    upload = teams.fake.files.upload_info(card["name"])
    unknown = await answer(teams, "accept", {"cx": "report_pdf"}, upload=upload)
    await teams.world.advance(file_cards.OFFER_TTL + timedelta(minutes=1))
    stale = await answer(teams, "accept", card["content"]["acceptContext"], upload=upload)
    assert (unknown.status, stale.status) == (200, 200)
    assert teams.fake.files.uploads == [] and info_cards(teams) == []
    assert said(teams)[-2:] == [file_cards.text("stale", "en")] * 2


def sent_kinds(teams: TeamsWorld) -> list[str]:
    """What each send into a conversation carried, in order (refused ones too)."""
    kinds = {file_cards.CONSENT_CONTENT_TYPE: "offer", ADAPTIVE: "card"}
    return [
        kinds.get(attachment["contentType"], "?")
        for call in teams.fake.calls(SEND_TO_CONVERSATION)
        for attachment in call.body.get("attachments") or []
    ]


async def deliveries(teams: TeamsWorld) -> list[tuple[str, str]]:
    async with teams.world.sessions() as session:
        rows = (await session.exec(select(Delivery).order_by(col(Delivery.id)))).all()
    return [(row.purpose, row.status) for row in rows]


async def test_the_offer_follows_the_report_and_waits_out_a_429(teams: TeamsWorld) -> None:
    """The offer goes through the delivery queue after its report, and a 429 with
    `Retry-After` on it (the connector's throttling answer, Teams "Optimize your bot: rate
    limiting") is waited out instead of failing the offer."""
    await installed(teams)
    teams.fake.add_response(SEND_TO_CONVERSATION, status=201)  # the report
    teams.fake.add_response(SEND_TO_CONVERSATION, status=429, headers={"Retry-After": "20"})
    await ask(teams, "report nordic --csv")
    assert sent_kinds(teams) == ["card", "offer"]  # the report, then the refused offer
    await teams.world.advance(timedelta(seconds=10))
    assert sent_kinds(teams) == ["card", "offer"]  # still waiting
    await teams.world.advance(timedelta(seconds=11))
    assert sent_kinds(teams) == ["card", "offer", "offer"]
    assert await deliveries(teams) == [("report", "done"), ("report_file", "done")]
    assert report_texts.text("csv_failed", "en") not in said(teams)


async def test_a_report_and_its_offer_wait_for_the_1to1_chat_and_come_in_order(
    teams: TeamsWorld,
) -> None:
    """The 1:1 chat cannot be opened yet (403, the connector's `BotNotInConversationRoster`):
    the report is held, the offer waits behind it, and once the chat opens both arrive,
    the report first. Before, the offer was sent at once, past the queue, or said it failed."""
    await installed(teams)
    teams.fake.add_response(CREATE_CONVERSATION, status=403)
    await ask(teams, "report nordic --csv")
    assert sent_kinds(teams) == []
    assert await deliveries(teams) == [("report", "held"), ("report_file", "held")]
    await teams.world.advance(timedelta(minutes=6))  # the hold's probe: the chat opens
    assert sent_kinds(teams) == ["card", "offer"]
    assert await deliveries(teams) == [("report", "done"), ("report_file", "done")]
    [chat] = {str(call.conversation_id) for call in teams.fake.calls(SEND_TO_CONVERSATION)}
    assert chat.startswith("a:")


async def test_a_command_too_long_to_offer_says_so(teams: TeamsWorld) -> None:
    await installed(teams)
    await ask(teams, "report nordic" + " " * 600 + "--csv")
    assert attachments(teams, file_cards.CONSENT_CONTENT_TYPE) == []
    assert report_texts.text("csv_failed", "en") in said(teams)


def test_the_file_cards_speak_finnish() -> None:
    offer = file_cards.CsvOffer(
        args="--days 30 --csv", by=LEAD_AAD, locale="fi", at=datetime(2026, 3, 2, tzinfo=UTC)
    )
    card = file_cards.consent_card(offer, name="cx-report-2026-03-02.csv", size=10)
    description = card["content"]["description"]
    assert description == "Asiakaspalauteraportti CSV-tiedostona (report --days 30 --csv)"
    assert file_cards.text("declined", "fi") == "Selvä, en tallentanut CSV-tiedostoa."


async def test_the_offer_keeps_the_words_after_a_line_break(teams: TeamsWorld) -> None:
    """Teams keeps a line break typed after the verb; the offer must still carry the rest."""
    await answered_surveys(teams)
    await ask(teams, "report\nnordic --csv")
    _, card = the_offer(teams)
    context = card["content"]["acceptContext"]
    assert context["args"] == "nordic --csv"
    upload = teams.fake.files.upload_info(card["name"])
    assert (await answer(teams, "accept", context, upload=upload)).status == 200
    assert len(teams.fake.files.uploads) == 1
