"""Adaptive Card renderers (`adapters.teams.cards`) against golden JSON, plus the rules a golden
file cannot show on its own: markdown escaping, mention validation, the Execute/Submit
pairing, the action data contract (`adapters.teams.card_ids`) and Teams' message size.

Golden files live in `tests/golden/teams/` and are compared with `==` after `json.loads`.
After an intended change, regenerate them and review the diff before committing:

    CXBOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/adapters/teams/test_teams_cards.py
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args

import pytest

from adapters.teams import card_ids, cards, markdown
from bot.alerts.workflow import CHOOSABLE_OUTCOMES
from bot.domain.questions import CURRENT, DRIVERS, end_labels, question_text, why_prompt
from bot.domain.scoring import Metric
from bot.i18n.texts import t
from bot.insights.report import GroupStats, columns, label, row_values
from bot.messages import (
    AlertCard,
    DigestMessage,
    Message,
    ReportFile,
    ReportMessage,
    ReportRow,
    ScaleButton,
    SurveyClosedNotice,
    SurveyPrompt,
    TextMessage,
    ThankYou,
    Verbatim,
    WebhookEvent,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "teams"
EVIL = "**bold** [link](http://evil) <at>Everyone</at>"
WJ = markdown.JOINER
EVIL_ESCAPED = rf"\*\*bold\*\* [link]{WJ}(http://evil) <{WJ}at>Everyone<{WJ}/at>"
CUSTOMER = "29:1GcS4EyB_oSI8A88XmWBN7NJFyMqe3QGnJdgLfFGkJnVelzRGos0bPbpsfJjcbAD22bmKc4GMbrY2g4"
MANAGER = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
ASSIGNEE = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
NAMES: Mapping[str, str] = MappingProxyType(
    {CUSTOMER: "Maija Virtanen", MANAGER: "Kalle Korhonen", ASSIGNEE: "Anna Nieminen"}
)
OPENED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
CHART_URL = "https://cxbot.example.com/charts/digest-7.png?expires=1772442000&sig=abc123"
Card = dict[str, Any]
SAMPLE_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "en": {
            "note": "Figures over fewer than 3 responses are not shown.",
            "period": "2–8 March 2026",
            "best": "Anna sorted the delivery out in a day!",
            "worst": "Slow replies.",
            "kudos": "Anna Korhonen: 4 top scores",
        },
        "fi": {
            "note": "Alle 3 vastauksen lukuja ei näytetä.",
            "period": "2.–8.3.2026",
            "best": "Anna hoiti toimituksen kuntoon päivässä!",
            "worst": "Vastaukset tulevat hitaasti.",
            "kudos": "Anna Korhonen: 4 täyttä arviota",
        },
    }
)


def prompt(metric: Metric, locale: str, **changes: Any) -> SurveyPrompt:
    """As `bot.surveys.prompts` builds it; CSAT goes to a 1:1 chat (no mention), the others to a
    channel thread."""
    version = CURRENT[metric]
    low, high = end_labels(version, locale)
    question = question_text(version, locale=locale, interaction_kind="meeting", vendor="Acme")
    mention = None if metric is Metric.CSAT else CUSTOMER
    fields: dict[str, Any] = {"survey_id": 1042, "metric": metric.value, "locale": locale}
    fields |= {"question": question, "low_label": low, "high_label": high}
    fields["mention_user_id"] = mention
    fields["buttons"] = tuple(ScaleButton(score=score) for score in version.scores)
    return SurveyPrompt(**(fields | changes))


def thanks(locale: str, *, saved: bool = False) -> ThankYou:
    why = why_prompt(Metric.CES, 2, locale)
    fields = {"survey_id": 1042, "metric": "ces", "locale": locale, "score": 2}
    return ThankYou(why_prompt=why, reasons_saved=saved, **fields)


def alert_card(locale: str = "en", **changes: Any) -> AlertCard:
    fields: dict[str, Any] = {"alert_id": 77, "status": "open", "opened_at": OPENED}
    fields |= {"locale": locale, "account_name": "Nordic Freight Oy"}
    fields |= {"account_manager_user_id": MANAGER, "contact_user_id": CUSTOMER}
    fields |= {"contact_name": "Maija Virtanen", "metric": "ces", "score": 2, "scale_max": 7}
    fields |= {"comment": f"Login broke again.\n{EVIL}"}
    fields |= {"interaction": "support ticket ZD-48213: Invoice portal login fails"}
    return AlertCard(reasons=("speed", "communication"), **(fields | changes))


def acknowledged_card(locale: str = "en") -> AlertCard:
    changes = {"acknowledged_by": f"teams:{MANAGER}", "assignee": f"teams:{ASSIGNEE}"}
    return alert_card(locale, status="acknowledged", **changes)


def resolved_card(locale: str = "en") -> AlertCard:
    note = f"fixed — Reset the SSO settings & called Maija <3 {EVIL}"
    changes = {"acknowledged_by": f"teams:{MANAGER}", "assignee": "slack:U06ANNA003"}
    return alert_card(locale, status="resolved", resolution=note, **changes)


def score_changed_card(locale: str = "en") -> AlertCard:
    """Closed by cxbot: the customer changed 2 to 7 (issue 12, item 5)."""
    notice = t("alert_score_changed", locale, score="CES 7 / 7")
    return alert_card(locale, status="resolved", score=7, resolution="score_changed", notice=notice)


def silent_card(locale: str = "en") -> AlertCard:
    summary = t("no_response_summary", locale, asked="4", days="30")
    fields: dict[str, Any] = {"alert_id": 78, "kind": "no_response", "status": "open"}
    fields |= {"locale": locale, "account_name": "Nordic Freight Oy", "summary": summary}
    return AlertCard(account_manager_user_id=MANAGER, opened_at=OPENED, **fields)


def report_rows(locale: str, count: int = 2) -> tuple[Any, ...]:
    """`count` account rows (two named, then numbered ones) and the total, as the core
    formats them: the second account has too few responses for most figures."""
    busy = GroupStats(histograms={Metric.CSAT: {5: 6, 4: 3, 2: 1}, Metric.CES: {6: 4}}, sent=15)
    quiet = GroupStats(histograms={Metric.NPS: {9: 1, 3: 1}}, sent=4)
    before = GroupStats(histograms={Metric.CSAT: {5: 3, 4: 3, 2: 2}}, sent=12)
    named = [("Nordic Freight Oy", busy), (f"Bits & Bytes Ab {EVIL}", quiet)]
    groups = [*named, *((f"Acct {i:04d}", busy) for i in range(count))][:count]
    groups.append((label("total", locale), busy))
    return tuple(
        ReportRow(label=n, n=g.n, values=row_values(g, before, min_group_size=3, locale=locale))
        for n, g in groups
    )


def report_msg(locale: str, count: int = 2) -> ReportMessage:
    title = f"{t('report_title', locale)}: 2026-02-02 – 2026-03-01"
    rows = report_rows(locale, count)
    note = SAMPLE_TEXT[locale]["note"]
    return ReportMessage(title=title, locale=locale, columns=columns(locale), rows=rows, note=note)


def digest_msg(locale: str, count: int = 2, **changes: Any) -> DigestMessage:
    text = SAMPLE_TEXT[locale]
    best = Verbatim(account_name="Nordic Freight Oy", metric="csat", score=5, text=text["best"])
    worst_text = f"{text['worst']}\n{EVIL}"
    worst = Verbatim(account_name="Bits & Bytes Ab", metric="nps", score=3, text=worst_text)
    fields: dict[str, Any] = {"title": t("digest_title", locale), "period": text["period"]}
    fields |= {"locale": locale, "columns": columns(locale), "rows": report_rows(locale, count)}
    fields |= {"open_alerts": 2, "overdue_alerts": 1, "best": (best,), "worst": (worst,)}
    fields |= {"kudos": (f"{text['kudos']} {EVIL}",), "chart_png_base64": "iVBORw0KGgo="}
    return DigestMessage(**(fields | changes))


def both(name: str, build: Callable[[str], Card]) -> dict[str, Callable[[], Card]]:
    return {f"{name}_{locale}.json": functools.partial(build, locale) for locale in ("en", "fi")}


GOLDEN_CASES: Mapping[str, Callable[[], Card]] = MappingProxyType(
    {
        **both(
            "survey_prompt_ces",
            lambda loc: cards.survey_prompt(prompt(Metric.CES, loc), names=NAMES),
        ),
        **both("survey_prompt_csat", lambda loc: cards.survey_prompt(prompt(Metric.CSAT, loc))),
        # No names known: the mention shows the generic word.
        **both("survey_prompt_nps", lambda loc: cards.survey_prompt(prompt(Metric.NPS, loc))),
        **both(
            "reminder",
            lambda loc: cards.render(prompt(Metric.CES, loc, reminder=True), names=NAMES),
        ),
        **both("thank_you", lambda loc: cards.thank_you(thanks(loc))),
        **both("thank_you_saved", lambda loc: cards.thank_you(thanks(loc, saved=True))),
        **both(
            "survey_closed", lambda loc: cards.render(SurveyClosedNotice(survey_id=1, locale=loc))
        ),
        **both("alert_open", lambda loc: cards.alert(alert_card(loc), names=NAMES)),
        **both("alert_acknowledged", lambda loc: cards.alert(acknowledged_card(loc), names=NAMES)),
        **both("alert_resolved", lambda loc: cards.alert(resolved_card(loc))),
        **both("alert_no_response", lambda loc: cards.alert(silent_card(loc), names=NAMES)),
        **both("alert_score_changed", lambda loc: cards.alert(score_changed_card(loc))),
        **both("report", lambda loc: cards.report(report_msg(loc))),
        **both("digest", lambda loc: cards.digest(digest_msg(loc), chart_url=CHART_URL)),
        # A text has no locale: its mention word is English.
        "text.json": lambda: cards.text(TextMessage(text=f"This question is for Maija. {EVIL}")),
        "text_mentions.json": lambda: cards.text(
            TextMessage(text=f"Please acknowledge.\n{EVIL}", mentions=(MANAGER, "<at>x</at>")),
            names=NAMES,
        ),
    }
)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def strings(node: Any) -> Iterator[str]:
    """Every string value in a card."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def markdown_texts(card: Card) -> list[str]:
    """What Teams renders as markdown: TextBlock texts and fact titles and values."""
    texts = [node["text"] for node in walk(card) if node.get("type") == "TextBlock"]
    facts = [fact for node in walk(card) if node.get("type") == "FactSet" for fact in node["facts"]]
    return texts + [fact["title"] for fact in facts] + [fact["value"] for fact in facts]


def executes(card: Card) -> list[dict[str, Any]]:
    return [node for node in walk(card) if node.get("type") == "Action.Execute"]


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    card = json.loads(json.dumps(GOLDEN_CASES[name]()))
    path = GOLDEN / name
    if os.environ.get("CXBOT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {name}: run with CXBOT_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == card


def test_every_golden_file_has_a_case() -> None:
    assert {path.name for path in GOLDEN.glob("*.json")} == set(GOLDEN_CASES)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_cards_are_adaptive_cards_1_5_within_teams_size(name: str) -> None:
    """Version 1.5, or 1.6 exactly when the card holds a people picker (`choices.data`)."""
    card = GOLDEN_CASES[name]()
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    picker = any("choices.data" in node for node in walk(card))
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.6" if picker else "1.5")
    assert card["body"] and all(node.get("type") for node in card["body"])
    assert len(json.dumps(card, ensure_ascii=False).encode()) < 28_000


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_every_execute_has_a_submit_fallback_with_the_same_data(name: str) -> None:
    for action in executes(GOLDEN_CASES[name]()):
        assert action["verb"] == "cx"
        assert action["data"]["cx"] in {"score", "why", "ack", "assign", "resolve"}
        fallback = action["fallback"]
        assert fallback["type"] == "Action.Submit"
        assert (fallback["data"], fallback["title"]) == (action["data"], action["title"])
        assert fallback.get("associatedInputs") == action.get("associatedInputs")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_every_execute_sits_in_an_action_set(name: str) -> None:
    """Older Teams clients ignore `fallback` on an action outside an ActionSet (Universal
    Action Model, "Backward compatibility"), so no card, nor a ShowCard's form, has actions
    of its own, and every Action.Execute is in an ActionSet."""
    card = GOLDEN_CASES[name]()
    cards_in = [
        card,
        *(node["card"] for node in walk(card) if node.get("type") == "Action.ShowCard"),
    ]
    assert all("actions" not in each for each in cards_in)
    in_sets = [
        action
        for node in walk(card)
        if node.get("type") == "ActionSet"
        for action in node["actions"]
        if action["type"] == "Action.Execute"
    ]
    assert len(in_sets) == len(executes(card))


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_only_our_own_mentions(name: str) -> None:
    """Every `<at>` in any string of a card is one of the card's own mention entities, and
    each entity names a valid Teams user id and appears in the text it belongs to."""
    card = GOLDEN_CASES[name]()
    entities = card.get("msteams", {}).get("entities", [])
    ours = {entity["text"] for entity in entities}
    for text in strings(card["body"]):
        for match in re.finditer(r"<at\b", text, re.IGNORECASE):
            assert any(text.startswith(tag, match.start()) for tag in ours), text
    for entity in entities:
        assert card_ids.teams_user_id(entity["mentioned"]["id"]) == entity["mentioned"]["id"]
        assert entity["text"] == f"<at>{entity['mentioned']['name']}</at>"
        assert any(entity["text"] in text for text in strings(card["body"]))


# The escaping rule itself, against both Teams markdown parsers: test_teams_markdown.py.


def test_user_text_is_escaped_everywhere() -> None:
    hostile = {"account_name": f"A {EVIL}", "contact_name": EVIL, "interaction": EVIL}
    alert = cards.alert(alert_card(**hostile))
    texts = markdown_texts(alert)
    assert f"Login broke again.\n\n{EVIL_ESCAPED}" in texts
    assert texts.count(EVIL_ESCAPED) == 2  # the contact and the interaction facts
    assert alert["body"][0]["text"] == f"Detractor alert · A {EVIL_ESCAPED}"
    resolved = markdown_texts(cards.alert(resolved_card()))
    assert any(f"called Maija <{WJ}3 {EVIL_ESCAPED}" in text for text in resolved)
    digest = markdown_texts(cards.digest(digest_msg("en")))
    assert f"Slow replies.\n\n{EVIL_ESCAPED}" in digest
    assert f"• Anna Korhonen: 4 top scores {EVIL_ESCAPED}" in digest
    report = markdown_texts(cards.report(report_msg("en")))
    assert any(text.startswith(r"Bits & Bytes Ab \*\*bold\*\*") for text in report)
    for card in (alert, cards.digest(digest_msg("en")), cards.report(report_msg("en"))):
        dumped = json.dumps(card)
        assert EVIL not in dumped and "<at>Everyone" not in dumped and "](http" not in dumped


BOGUS_IDS = ["U07MAIJA01", "<at>x</at>", "29:", "29:abc def", "29:a<b", "8:orgid:x", ""]
BOGUS_IDS += [MANAGER + "0", "g" + MANAGER[1:], f"{MANAGER}\n", "@everyone"]


@pytest.mark.parametrize("bogus", BOGUS_IDS)
def test_invalid_mention_ids_are_dropped(bogus: str) -> None:
    survey = cards.survey_prompt(prompt(Metric.CES, "en", mention_user_id=bogus), names=NAMES)
    alert = cards.alert(alert_card(account_manager_user_id=bogus), names={bogus: "Evil"})
    text = cards.text(TextMessage(text="hi", mentions=(bogus,)))
    for card in (survey, alert, text):
        assert "msteams" not in card and "<at>" not in json.dumps(card)
    assert survey["body"][0]["text"] == "How easy was it to get what you needed from us?"
    assert text["body"][0]["text"] == "hi"


def test_mentions_use_known_names_or_a_generic_word() -> None:
    named = cards.survey_prompt(prompt(Metric.CES, "fi"), names=NAMES)
    assert named["body"][0]["text"] == "<at>Maija Virtanen</at>"
    entity = {"type": "mention", "text": "<at>Maija Virtanen</at>"}
    assert named["msteams"]["entities"] == [
        entity | {"mentioned": {"id": CUSTOMER, "name": "Maija Virtanen"}}
    ]
    unnamed = cards.survey_prompt(prompt(Metric.CES, "fi"))
    assert unnamed["body"][0]["text"] == "<at>sinä</at>"
    forged = cards.survey_prompt(prompt(Metric.CES, "en"), names={CUSTOMER: "</at><at>**X**"})
    assert forged["body"][0]["text"] == "<at>atatX</at>"
    two = cards.text(TextMessage(text="x", mentions=(MANAGER, MANAGER, ASSIGNEE)), names=NAMES)
    assert two["body"][0]["text"] == "<at>Kalle Korhonen</at> <at>Anna Nieminen</at> x"


@pytest.mark.parametrize(("metric", "rows"), [("ces", [4, 3]), ("csat", [5]), ("nps", [6, 5])])
def test_score_buttons(metric: str, rows: list[int]) -> None:
    card = cards.survey_prompt(prompt(Metric(metric), "en"))
    sets = [node for node in card["body"] if node["type"] == "ActionSet"]
    assert [len(s["actions"]) for s in sets] == rows
    buttons = [action for s in sets for action in s["actions"]]
    scores = list(CURRENT[Metric(metric)].scores)
    assert [b["data"] for b in buttons] == [card_ids.score_data(1042, s) for s in scores]
    assert all(b["type"] == "Action.Execute" and b["verb"] == "cx" for b in buttons)
    assert all(b["fallback"]["type"] == "Action.Submit" for b in buttons)
    assert [b["title"] for b in buttons] == [str(s) for s in scores]
    low, high = end_labels(CURRENT[Metric(metric)], "en")
    assert card["body"][-1]["text"] == f"{scores[0]} = {low} · {scores[-1]} = {high}"


def test_reminder_and_long_button_labels() -> None:
    buttons = (ScaleButton(score=1, label="x" * 200), ScaleButton(score=2))
    card = cards.survey_prompt(prompt(Metric.CSAT, "fi", reminder=True, buttons=buttons))
    assert card["body"][0]["text"] == markdown.escape(t("reminder", "fi"))
    first = card["body"][2]["actions"][0]
    assert len(first["title"]) == 75 and first["title"].endswith("…")
    assert first["fallback"]["title"] == first["title"]


def test_thank_you_form() -> None:
    card = cards.thank_you(thanks("fi"))
    assert card["body"][0]["text"] == "Kiitos vastauksestasi! Arviosi: **2 / 7**"
    reasons, comment = card["body"][2], card["body"][3]
    assert (reasons["id"], reasons["isMultiSelect"]) == ("reasons", True)
    assert [choice["value"] for choice in reasons["choices"]] == list(DRIVERS)
    assert (comment["id"], comment["isMultiline"], comment["maxLength"]) == ("comment", True, 3000)
    (send,) = executes(card)
    assert send["data"] == {"cx": "why", "survey_id": 1042}
    saved = cards.thank_you(thanks("en", saved=True))
    assert executes(saved) == [] and saved["body"][1]["text"] == "Thanks, we got your comments."


def alert_actions(card: Card) -> list[Card]:
    """The alert's buttons: the ActionSet that ends its body."""
    last = card["body"][-1]
    return list(last["actions"]) if last["type"] == "ActionSet" else []


def test_alert_actions_and_manager_mention_follow_the_status() -> None:
    def titles(card: Card) -> list[tuple[str, str]]:
        return [(a["type"], a["title"]) for a in alert_actions(card)]

    show_assign, show_resolve = ("Action.ShowCard", "Assign to…"), ("Action.ShowCard", "Resolve")
    opened = cards.alert(alert_card(), names=NAMES)
    assert titles(opened) == [("Action.Execute", "Acknowledge"), show_assign, show_resolve]
    assert alert_actions(opened)[0]["associatedInputs"] == "none"
    assert opened["body"][1]["text"].startswith("<at>Kalle Korhonen</at> A customer")
    acknowledged = cards.alert(acknowledged_card(), names=NAMES)
    assert titles(acknowledged) == [show_assign, show_resolve]
    assert "msteams" not in acknowledged and "<at>" not in json.dumps(acknowledged)
    status = acknowledged["body"][-2]["text"]
    assert "acknowledged by Kalle Korhonen · assigned to Anna Nieminen" in status
    picker = alert_actions(acknowledged)[0]["card"]["body"][0]
    assert picker["value"] == ASSIGNEE
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    resolved = cards.alert(resolved_card())
    assert alert_actions(resolved) == [] and executes(resolved) == []
    assert "assigned to slack:U06ANNA003" in resolved["body"][-1]["text"]


def test_resolve_form_offers_every_outcome() -> None:
    resolve = alert_actions(cards.alert(alert_card("fi")))[2]["card"]
    outcome, note, notify, send = resolve["body"]
    assert [choice["value"] for choice in outcome["choices"]] == list(CHOOSABLE_OUTCOMES)
    assert (outcome["id"], outcome["isRequired"], note["id"], note["maxLength"]) == (
        "outcome",
        True,
        "note",
        3000,
    )
    assert (notify["type"], notify["valueOn"], notify["valueOff"]) == (
        "Input.Toggle",
        "true",
        "false",
    )
    assert send["actions"][0]["data"] == {"cx": "resolve", "alert_id": 77}


def scoped_executes(
    card: Card, inherited: tuple[Card, ...] = ()
) -> Iterator[tuple[Card, list[Card]]]:
    """Each Action.Execute with the inputs a client gathers for it: the inputs of its own
    card and of every card around a ShowCard, unless it says `associatedInputs: none`."""
    inputs = [*inherited, *(node for node in _own_nodes(card) if node["type"].startswith("Input."))]
    actions = [node for node in _own_nodes(card) if node["type"].startswith("Action.")]
    for action in actions + card.get("actions", []):
        if action["type"] == "Action.ShowCard":
            yield from scoped_executes(action["card"], tuple(inputs))
        elif action["type"] == "Action.Execute":
            yield action, [] if action.get("associatedInputs") == "none" else inputs


def _own_nodes(card: Card) -> Iterator[Card]:
    """The body's elements and ActionSet actions, not descending into ShowCards."""
    stack = list(card["body"])
    while stack:
        node = stack.pop(0)
        yield node
        stack += node.get("items", []) + node.get("actions", [])


def filled_in(element: Card) -> tuple[str, object]:
    """(what a client sends for an input a user filled in, what the parser makes of it)."""
    if element["type"] == "Input.Toggle":
        return str(element["valueOn"]), True
    if "choices.data" in element:
        return ASSIGNEE, ASSIGNEE
    if element["type"] == "Input.ChoiceSet" and element.get("isMultiSelect"):
        values = [choice["value"] for choice in element["choices"]][:3]
        return ",".join(values), values
    if element["type"] == "Input.ChoiceSet":
        value = element["choices"][-1]["value"]
        return value, value
    return "x" * element["maxLength"], "x" * element["maxLength"]


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_parse_action_accepts_what_the_cards_send(name: str) -> None:
    """Each action's data merged with its inputs as a client fills them in (the longest
    text an input allows) parses to exactly that data and those values."""
    for action, inputs in scoped_executes(GOLDEN_CASES[name]()):
        values = {element["id"]: filled_in(element) for element in inputs}
        sent = action["data"] | {key: value for key, (value, _) in values.items()}
        parsed = card_ids.parse_action(json.loads(json.dumps(sent))).model_dump(mode="json")
        assert {key: parsed[key] for key in action["data"]} == action["data"]
        assert {key: parsed[key] for key in values} == {k: v for k, (_, v) in values.items()}
        required = any(element.get("isRequired") for element in inputs)
        if not required:  # nothing filled in: the card's data alone
            assert card_ids.parse_action(action["fallback"]["data"]) is not None
        else:
            with pytest.raises(ValueError):
                card_ids.parse_action(action["data"])


def test_every_action_kind_appears_in_the_golden_cards() -> None:
    verbs = {a["data"]["cx"] for case in GOLDEN_CASES.values() for a, _ in scoped_executes(case())}
    assert verbs == {"score", "why", "ack", "assign", "resolve"}


def test_parse_action_defaults_and_invoke() -> None:
    why = card_ids.parse_action({"cx": "why", "survey_id": 5, "reasons": "", "comment": ""})
    assert why == card_ids.WhyAction(cx="why", survey_id=5, reasons=(), comment="")
    listed = card_ids.parse_action({"cx": "why", "survey_id": 5, "reasons": ["price", "speed"]})
    assert isinstance(listed, card_ids.WhyAction) and listed.reasons == ("price", "speed")
    resolve = {"cx": "resolve", "alert_id": 2**31 - 1, "outcome": "other", "notify": False}
    assert card_ids.parse_action(resolve) == card_ids.ResolveAction(**resolve)
    invoke = {
        "action": {"type": "Action.Execute", "verb": "cx", "data": {"cx": "ack", "alert_id": 0}}
    }
    assert card_ids.parse_invoke(invoke) == card_ids.AckAction(cx="ack", alert_id=0)
    wrong_verb = {"action": {**invoke["action"], "verb": "other"}}
    submit = {"action": {**invoke["action"], "type": "Action.Submit"}}
    bad_invokes: list[object] = [wrong_verb, submit, {"action": []}, None]
    for bad in bad_invokes:
        with pytest.raises(ValueError):
            card_ids.parse_invoke(bad)


SCORE = {"cx": "score", "survey_id": 1, "score": 3}
MALFORMED: list[object] = [None, [], "score", 42, {}, {"cx": "delete", "survey_id": 1}]
MALFORMED += [{"cx": "Score", "survey_id": 1, "score": 3}, {"survey_id": 1, "score": 3}]
MALFORMED += [{"cx": "score", "score": 3}, SCORE | {"survey_id": True}]
MALFORMED += [SCORE | {"survey_id": 2**31}, SCORE | {"survey_id": 10**400}]
MALFORMED += [SCORE | {"survey_id": -1}, SCORE | {"survey_id": "1"}, SCORE | {"survey_id": 1.0}]
MALFORMED += [SCORE | {"score": -1}, SCORE | {"score": "-1"}, SCORE | {"score": 11}]
MALFORMED += [SCORE | {"score": False}, SCORE | {"extra": 1}, SCORE | {"alert_id": 1}]
MALFORMED += [{"cx": "ack", "alert_id": 1, "verb": "cx"}, {"cx": "ack", "alert_id": None}]
MALFORMED += [{"cx": "why", "survey_id": 1, "comment": "x" * 3001}]
MALFORMED += [{"cx": "why", "survey_id": 1, "comment": 5}]
MALFORMED += [{"cx": "why", "survey_id": 1, "reasons": [*DRIVERS, "speed"]}]
MALFORMED += [{"cx": "why", "survey_id": 1, "reasons": "speed,bribes"}]
MALFORMED += [{"cx": "why", "survey_id": 1, "reasons": ["speed", 1]}]
MALFORMED += [{"cx": "why", "survey_id": 1, "reasons": {"speed": True}}]
MALFORMED += [{"cx": "why", "survey_id": 1, "reasons": "speed," * 100}]
MALFORMED += [{"cx": "assign", "alert_id": 1}, {"cx": "assign", "alert_id": 1, "assignee": ""}]
MALFORMED += [{"cx": "assign", "alert_id": 1, "assignee": CUSTOMER}]
MALFORMED += [{"cx": "assign", "alert_id": 1, "assignee": f"{ASSIGNEE},{MANAGER}"}]
MALFORMED += [{"cx": "resolve", "alert_id": 1}, {"cx": "resolve", "alert_id": 1, "outcome": "x"}]
MALFORMED += [{"cx": "resolve", "alert_id": 1, "outcome": "fixed", "notify": "yes"}]
MALFORMED += [{"cx": "resolve", "alert_id": 1, "outcome": "fixed", "note": "n" * 3001}]


@pytest.mark.parametrize("value", MALFORMED, ids=lambda value: json.dumps(value)[:60])
def test_parse_action_rejects_malformed(value: object) -> None:
    with pytest.raises(ValueError, match="malformed card action"):
        card_ids.parse_action(value)


def test_parse_errors_do_not_echo_the_input() -> None:
    with pytest.raises(ValueError) as caught:
        card_ids.parse_action({"cx": "<at>evil</at>", "survey_id": 1})
    assert str(caught.value) == "malformed card action: data: union_tag_invalid"
    with pytest.raises(ValueError) as caught:
        card_ids.parse_action(SCORE | {"survey_id": "<at>evil</at>", "reasons": "evil2"})
    assert "evil" not in str(caught.value) and "score.survey_id: int_type" in str(caught.value)


@pytest.mark.parametrize("count", [200, 5000])
def test_big_report_and_digest_stay_within_teams_size(count: int) -> None:
    hostile = Verbatim(account_name="A" * 500, metric="nps", score=0, text="*" * 5000)
    big = (hostile,) * 20
    digest = cards.digest(digest_msg("fi", count, best=big, worst=big, kudos=(EVIL * 50,) * 20))
    for card in (cards.report(report_msg("en", count)), digest):
        assert len(json.dumps(card, ensure_ascii=False).encode()) < 28_000
        tables = [node for node in card["body"] if node["type"] == "Table"]
        shown = sum(len(table["rows"]) - 1 for table in tables)
        assert all(len(table["rows"]) <= 16 for table in tables)
        more = re.search(r"(\d+) (more rows|riviä lisää)", json.dumps(card, ensure_ascii=False))
        assert more is not None and shown + int(more.group(1)) == count + 1


def test_small_report_table() -> None:
    card = cards.report(report_msg("en"))
    (table,) = [node for node in card["body"] if node["type"] == "Table"]
    header = [cell["items"][0]["text"] for cell in table["rows"][0]["cells"]]
    assert header == ["", *(markdown.escape(c) for c in columns("en"))]
    assert len(table["rows"]) == 4 and table["firstRowAsHeader"] is True
    assert len(table["columns"]) == len(header)
    quiet = [cell["items"][0]["text"] for cell in table["rows"][2]["cells"]]
    assert "too few" not in "".join(quiet) and "– (n=2)" in quiet
    assert card["body"][-2]["text"] == "– (n=…) = too few responses"
    assert card["body"][-1]["text"] == "Figures over fewer than 3 responses are not shown."
    assert card["msteams"] == {"width": "Full"}


def test_digest_chart() -> None:
    with_chart = cards.digest(digest_msg("en"), chart_url=CHART_URL)
    image = with_chart["body"][-1]
    assert image == {
        "type": "Image",
        "url": CHART_URL,
        "altText": "Weekly customer feedback · 2–8 March 2026",
        "size": "Stretch",
    }
    assert "Image" not in json.dumps(cards.digest(digest_msg("en")))
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    assert cards.render(digest_msg("en"), chart_url=data_uri)["body"][-1]["url"] == data_uri
    for bad in ("javascript:alert(1)", "http://insecure/x.png", "data:text/html;base64,PHA+"):
        with pytest.raises(ValueError):
            cards.digest(digest_msg("en"), chart_url=bad)


def test_render_dispatches_every_message_type() -> None:
    cases: list[tuple[Message, Callable[[Any], Card]]] = [
        (prompt(Metric.CES, "en"), cards.survey_prompt),
        (thanks("en"), cards.thank_you),
        (SurveyClosedNotice(survey_id=1, locale="en"), cards.survey_closed),
        (alert_card(), cards.alert),
        (report_msg("en"), cards.report),
        (digest_msg("en"), cards.digest),
        (TextMessage(text="hi"), cards.text),
    ]
    # Every chat message but a file offer, which is no Adaptive Card
    # (`outbound.message_activity` sends its file consent card); a webhook event goes to its
    # endpoint, never to a chat.
    chat = set(get_args(get_args(Message)[0])) - {WebhookEvent, ReportFile}
    assert {type(message) for message, _ in cases} == chat
    for message, renderer in cases:
        assert cards.render(message) == renderer(message)
    assert cards.render(prompt(Metric.CES, "en"), names=NAMES) != cards.render(
        prompt(Metric.CES, "en")
    )
    with pytest.raises(TypeError, match="ScaleButton"):
        cards.render(ScaleButton(score=1))  # type: ignore[arg-type]
    event = WebhookEvent(id="e", event="x", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), data={})
    with pytest.raises(TypeError, match="WebhookEvent"):
        cards.render(event)
