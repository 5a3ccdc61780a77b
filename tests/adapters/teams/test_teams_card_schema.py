"""Every Adaptive Card the bot sends validates against the official Adaptive Cards schema of
the version it declares (tests/schemas/adaptivecards: microsoft/AdaptiveCards, MIT; read
from disk, nothing downloaded), with the one Teams extension those schemas leave out, the
card's `msteams` property, checked against Microsoft Teams' documentation instead ("Format
cards in Microsoft Teams": mention entities, and `width: "Full"`). The people picker's
`choices.data` is in the 1.6 schema itself, so a card holding one must declare 1.6.

The CSV offer is a Teams file consent card (`application/vnd.microsoft.teams.card.file.
consent`), not an Adaptive Card: it has no schema here."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator
from jsonschema.exceptions import best_match
from sqlmodel import select

from adapters.teams import cards, file_cards
from bot.domain.scoring import Metric
from bot.i18n.texts import t
from bot.messages import TextMessage, Verbatim
from storage.models import Alert
from tests.adapters.teams.conftest import STAFF_AAD, STAFF_ID, TeamsWorld
from tests.adapters.teams.test_teams_cards import (
    EVIL,
    GOLDEN_CASES,
    alert_card,
    digest_msg,
    prompt,
    report_msg,
    thanks,
)
from tests.adapters.teams.test_teams_flows import delivered_survey

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "adaptivecards"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]

# The card-level `msteams` property as Teams documents it: mentions (`<at>name</at>` text
# and who it names) and full width. Nothing else is sent.
MSTEAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "width": {"enum": ["Full"]},
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "text", "mentioned"],
                "properties": {
                    "type": {"enum": ["mention"]},
                    "text": {"type": "string", "pattern": "^<at>[^<]*</at>$"},
                    "mentioned": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        },
    },
}


@functools.cache
def validator(version: str) -> Draft6Validator:
    path = SCHEMAS / f"adaptive-card-{version}.json"
    assert path.is_file(), f"the card declares version {version!r}: no schema for it"
    schema = json.loads(path.read_text(encoding="utf-8"))
    # Not `check_schema`: upstream's MediaSource.mimeType says `"required": false`, a
    # draft-03 leftover the draft-06 meta-schema refuses; it never applies (a string).
    return Draft6Validator(schema)


def problems(card: Card) -> list[str]:
    """Why `card` is not a valid Adaptive Card of its declared version (empty if it is)."""
    card = json.loads(json.dumps(card))
    teams = card.pop("msteams", None)
    found = []
    error = best_match(validator(str(card.get("version"))).iter_errors(card))
    if error is not None:
        found.append(f"{error.json_path}: {error.message[:300]}")
    if teams is not None:
        found += [f"msteams: {e.message}" for e in Draft6Validator(MSTEAMS).iter_errors(teams)]
    return found


def big_digest() -> Card:
    hostile = Verbatim(account_name="A" * 500, metric="nps", score=0, text="*" * 5000)
    many = (hostile,) * 20
    return cards.digest(
        digest_msg("fi", 200, best=many, worst=many, kudos=(EVIL * 50,) * 20),
        chart_url="data:image/png;base64,iVBORw0KGgo=",
    )


# Every kind of card, beyond the golden ones: help, hostile text, long tables, a prompt
# with long labels, every alert state in both languages (the golden set has them).
EXTRA: dict[str, Callable[[], Card]] = {
    "help_en": lambda: cards.render(TextMessage(text=t("command_help", "en", cmd="@cxbot"))),
    "help_fi": lambda: cards.render(TextMessage(text=t("command_help", "fi", cmd="@cxbot"))),
    "empty_text": lambda: cards.render(TextMessage(text="  ")),
    "report_200_rows": lambda: cards.report(report_msg("en", 200)),
    "digest_big": big_digest,
    "digest_no_chart": lambda: cards.digest(digest_msg("en")),
    "thank_you_hostile": lambda: cards.thank_you(thanks("en")),
    "alert_hostile": lambda: cards.alert(
        alert_card(account_name=EVIL, contact_name=EVIL, interaction=EVIL).model_copy(
            update={"reasons": ("a_driver_since_removed",)}
        )
    ),
    "alert_acknowledged_unnamed": lambda: cards.alert(alert_card(status="acknowledged")),
    "prompt_reminder_nps_fi": lambda: cards.render(prompt(Metric.NPS, "fi", reminder=True)),
}
CASES: dict[str, Callable[[], Card]] = {**GOLDEN_CASES, **EXTRA}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_card_validates_against_its_versions_schema(name: str) -> None:
    assert problems(CASES[name]()) == []


def test_the_cases_cover_every_kind_of_card_and_alert_state() -> None:
    """(test_teams_cards.py::test_render_dispatches_every_message_type covers the types.)"""
    names = " ".join(CASES)
    kinds = ["survey_prompt", "reminder", "thank_you", "thank_you_saved", "survey_closed"]
    kinds += ["alert_open", "alert_acknowledged", "alert_resolved", "alert_no_response"]
    kinds += ["alert_score_changed", "report", "digest", "text", "help"]
    assert [kind for kind in kinds if kind not in names] == []
    assert any('"choices.data"' in json.dumps(build()) for build in CASES.values())


def test_the_schemas_are_not_a_formality() -> None:
    """What the check catches: the picker in a card that declares 1.5, an unknown element,
    a misspelt property, a `msteams` value Teams does not document, a version with no
    schema."""
    opened = cards.alert(alert_card())
    assert opened["version"] == "1.6" and problems(opened) == []
    broken = [
        {**copy.deepcopy(opened), "version": "1.5"},
        {**opened, "body": [*opened["body"], {"type": "Carousel", "pages": []}]},
        {**opened, "body": [{"type": "TextBlock", "txt": "x"}]},
        {**opened, "msteams": {"width": "Wide"}},
    ]
    assert [card for card in broken if problems(card) == []] == []
    with pytest.raises(AssertionError, match="no schema"):
        problems({**opened, "version": "1.7"})


def adaptive_cards_in(node: Any) -> Iterator[Card]:
    """Every Adaptive Card attachment in a connector call's body."""
    if isinstance(node, dict):
        if node.get("contentType") == ADAPTIVE:
            yield node["content"]
        for value in node.values():
            yield from adaptive_cards_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from adaptive_cards_in(item)


async def test_every_card_sent_in_a_whole_round_validates(teams: TeamsWorld) -> None:
    """Through the bot itself: the prompt, the invoke answers (thank-you with its form, the
    saved thank-you, the alert after each step), the alert and its updates, the help, the
    report in the 1:1 chat and the CSV offer (not an Adaptive Card)."""
    staff = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}
    survey_id = await delivered_survey(teams)
    answered: list[Card] = []

    async def click(data: dict[str, Any], **who: Any) -> None:
        body = await (await teams.card_action(data, **who)).json()
        assert body["type"] == ADAPTIVE, body
        answered.append(body["value"])

    await click({"cx": "score", "survey_id": survey_id, "score": 1})
    await click({"cx": "why", "survey_id": survey_id, "reasons": "speed", "comment": EVIL})
    await teams.world.run()
    async with teams.world.sessions() as session:
        alert_id = (await session.exec(select(Alert))).one().id
    await click({"cx": "ack", "alert_id": alert_id}, **staff)
    await click({"cx": "resolve", "alert_id": alert_id, "outcome": "fixed", "note": EVIL}, **staff)
    await teams.activity("message_personal_help", **staff)
    await teams.activity("message_personal_help", text="report nordic --days 30 --csv", **staff)
    await teams.world.advance(timedelta(minutes=1))
    sent = [card for call in teams.fake.calls() for card in adaptive_cards_in(call.body)]
    offers = [
        call
        for call in teams.fake.calls()
        if file_cards.CONSENT_CONTENT_TYPE in json.dumps(call.body)
    ]
    assert len(answered) == 4 and len(sent) >= 6 and offers
    for card in answered + sent:
        assert problems(card) == [], json.dumps(card)[:500]
    versions = {card["version"] for card in answered + sent}
    assert versions == {"1.5", "1.6"}
