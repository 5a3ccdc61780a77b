"""Block Kit renderers (`adapters.slack.blocks`) against golden JSON, plus the rules a golden
file cannot show on its own: escaping, Slack's limits, mention validation, id parsing.

Golden files live in `tests/golden/slack/` and are compared with `==` after `json.loads`.
After an intended change, regenerate them and review the diff before committing:

    CXBOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/adapters/slack/test_slack_blocks.py
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

from adapters.slack import blocks, ids
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

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "slack"
EVIL = "<!channel> please fix & <http://evil|click>"
EVIL_ESCAPED = "&lt;!channel&gt; please fix &amp; &lt;http://evil|click&gt;"
CUSTOMER, MANAGER, ASSIGNEE = "U07MAIJA01", "U05KALLE02", "U06ANNA003"
OPENED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
Payload = dict[str, Any]
# Text a real core would have produced in each language (notes, periods, customers' words).
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
    """As `bot.surveys.prompts` builds it; CSAT goes to a DM (no mention), the others to a
    thread."""
    version = CURRENT[metric]
    low, high = end_labels(version, locale)
    question = question_text(version, locale=locale, interaction_kind="meeting", vendor="Acme")
    mention = None if metric is Metric.CSAT else CUSTOMER
    fields: dict[str, Any] = {"survey_id": 1042, "metric": metric.value, "locale": locale}
    fields["question"] = question
    fields |= {"low_label": low, "high_label": high, "mention_user_id": mention}
    fields["buttons"] = tuple(ScaleButton(score=score) for score in version.scores)
    return SurveyPrompt(**(fields | changes))


def thanks(locale: str, *, saved: bool = False) -> ThankYou:
    why = why_prompt(Metric.CES, 6, locale)
    fields = {"survey_id": 1042, "metric": "ces", "locale": locale, "score": 6}
    return ThankYou(why_prompt=why, reasons_saved=saved, **fields)


def alert_card(**changes: Any) -> AlertCard:
    fields: dict[str, Any] = {"alert_id": 77, "status": "open", "opened_at": OPENED}
    fields |= {"account_name": "Nordic Freight Oy", "account_manager_user_id": MANAGER}
    fields |= {"contact_name": "Maija Virtanen", "contact_user_id": CUSTOMER}
    fields |= {"metric": "ces", "score": 2, "scale_max": 7, "comment": EVIL}
    fields |= {"interaction": "support ticket ZD-48213: Invoice portal login fails"}
    return AlertCard(reasons=("speed", "communication"), **(fields | changes))


def acknowledged_card() -> AlertCard:
    return alert_card(status="acknowledged", assignee=f"slack:{ASSIGNEE}")


def resolved_card() -> AlertCard:
    note = "fixed — Reset the SSO settings & called Maija <3"
    return alert_card(status="resolved", assignee=f"slack:{ASSIGNEE}", resolution=note)


def score_changed_card(locale: str) -> AlertCard:
    """Closed by cxbot: the customer changed 2 to 7 (issue 12, item 5)."""
    notice = t("alert_score_changed", locale, score="CES 7 / 7")
    changes = {"score": 7, "resolution": "score_changed", "notice": notice}
    return alert_card(status="resolved", **changes)


def silent_card() -> AlertCard:
    return AlertCard(
        alert_id=78,
        kind="no_response",
        status="open",
        account_name="Nordic Freight Oy",
        summary="No answer to any of the 4 feedback questions sent in the last 30 days.",
        account_manager_user_id="U0AM000001",
        opened_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def report_rows(locale: str, count: int = 2) -> tuple[Any, ...]:
    """`count` account rows (two named, then numbered ones) and the total, as the core
    formats them: the second account has too few responses for most figures."""
    busy = GroupStats(histograms={Metric.CSAT: {5: 6, 4: 3, 2: 1}, Metric.CES: {6: 4}}, sent=15)
    quiet = GroupStats(histograms={Metric.NPS: {9: 1, 3: 1}}, sent=4)
    before = GroupStats(histograms={Metric.CSAT: {5: 3, 4: 3, 2: 2}}, sent=12)
    named = [("Nordic Freight Oy", busy), ("Bits & <Bytes> Ab", quiet)]
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


def digest_msg(locale: str) -> DigestMessage:
    text = SAMPLE_TEXT[locale]
    best = Verbatim(account_name="Nordic Freight Oy", metric="csat", score=5, text=text["best"])
    worst_text = f"{text['worst']}\n{EVIL}"
    worst = Verbatim(account_name="Bits & Bytes Ab", metric="nps", score=3, text=worst_text)
    return DigestMessage(
        title=t("digest_title", locale),
        period=text["period"],
        locale=locale,
        columns=columns(locale),
        rows=report_rows(locale),
        open_alerts=2,
        overdue_alerts=1,
        best=(best,),
        worst=(worst,),
        kudos=(f"{text['kudos']} <@U0EVIL>",),
        chart_png_base64="iVBORw0KGgo=",
    )


def both(name: str, build: Callable[[str], Payload]) -> dict[str, Callable[[], Payload]]:
    return {f"{name}_{locale}.json": functools.partial(build, locale) for locale in ("en", "fi")}


GOLDEN_CASES: Mapping[str, Callable[[], Payload]] = MappingProxyType(
    {
        **both("survey_prompt_ces", lambda loc: blocks.survey_prompt(prompt(Metric.CES, loc))),
        **both("survey_prompt_csat", lambda loc: blocks.survey_prompt(prompt(Metric.CSAT, loc))),
        **both("survey_prompt_nps", lambda loc: blocks.survey_prompt(prompt(Metric.NPS, loc))),
        **both("reminder", lambda loc: blocks.render(prompt(Metric.CES, loc, reminder=True))),
        **both("thank_you", lambda loc: blocks.thank_you(thanks(loc))),
        **both("thank_you_saved", lambda loc: blocks.thank_you(thanks(loc, saved=True))),
        **both(
            "survey_closed", lambda loc: blocks.render(SurveyClosedNotice(survey_id=1, locale=loc))
        ),
        **both(
            "why_modal",
            lambda loc: blocks.why_modal(survey_id=1, locale=loc, metric="ces", score=2),
        ),
        **both("alert_open", lambda loc: blocks.alert(alert_card(), locale=loc)),
        **both("alert_acknowledged", lambda loc: blocks.alert(acknowledged_card(), locale=loc)),
        **both("alert_resolved", lambda loc: blocks.alert(resolved_card(), locale=loc)),
        **both("alert_no_response", lambda loc: blocks.alert(silent_card(), locale=loc)),
        **both(
            "alert_score_changed",
            lambda loc: blocks.alert(score_changed_card(loc), locale=loc),
        ),
        "resolve_modal.json": lambda: blocks.resolve_modal(alert_id=77, locale="en"),
        "resolve_modal_fi.json": lambda: blocks.resolve_modal(alert_id=77, locale="fi"),
        **both("report", lambda loc: blocks.report(report_msg(loc))),
        **both("digest", lambda loc: blocks.digest(digest_msg(loc))),
        "text.json": lambda: blocks.text(TextMessage(text=f"This question is for Maija. {EVIL}")),
        "text_mentions.json": lambda: blocks.text(
            TextMessage(text=f"Please acknowledge. {EVIL}", mentions=("U0AM000001", "<!channel>"))
        ),
    }
)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a payload, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    payload = json.loads(json.dumps(GOLDEN_CASES[name]()))
    path = GOLDEN / name
    if os.environ.get("CXBOT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {name}: run with CXBOT_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == payload


def test_every_golden_file_has_a_case() -> None:
    assert {path.name for path in GOLDEN.glob("*.json")} == set(GOLDEN_CASES)


def mrkdwn(payload: Payload) -> str:
    """Every text Slack parses as mrkdwn (plain_text shows `<` literally): the fallback
    notification text and each mrkdwn text object."""
    texts = [node["text"] for node in walk(payload) if node.get("type") == "mrkdwn"]
    return "\n".join([payload.get("text", ""), *texts])


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_only_our_own_control_sequences_and_slack_limits(name: str) -> None:
    payload = GOLDEN_CASES[name]()
    ours = r"@[UW][A-Z0-9]+|!date\^\d+\^[^|]+\|[^>]+"
    sequences = re.findall(r"<([^>]*)>", mrkdwn(payload))
    assert all(re.fullmatch(ours, sequence) for sequence in sequences), sequences
    assert "<!channel>" not in json.dumps(payload)  # the fixtures' comments carry one
    assert 0 < len(payload["blocks"]) <= 50
    for node in walk(payload):
        if node.get("type") == "button":
            assert len(node["text"]["text"]) <= 75
        if node.get("type") == "section" and "text" in node:
            assert 0 < len(node["text"]["text"]) <= 3000


def test_escape_is_exactly_slacks_rule() -> None:
    assert blocks.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert blocks.escape("&amp;") == "&amp;amp;"
    assert blocks.escape("*b* _i_ ~s~ `c` | \"q\" 'q' @here") == "*b* _i_ ~s~ `c` | \"q\" 'q' @here"


def test_user_text_is_escaped_everywhere() -> None:
    card = blocks.alert(alert_card(account_name="A <!here>"))
    assert card["blocks"][2]["text"]["text"] == f"> {EVIL_ESCAPED}"
    assert "A &lt;!here&gt;" in card["text"]
    digest = blocks.digest(digest_msg("en"))
    assert f"> Slow replies.\n> {EVIL_ESCAPED}\n" in mrkdwn(digest)
    assert "&lt;@U0EVIL&gt;" in mrkdwn(digest)
    for text in (mrkdwn(card), mrkdwn(digest)):
        assert "<!channel>" not in text and "<!here>" not in text and "<http" not in text


def test_long_comment_is_cut_between_escapes() -> None:
    comment = blocks.alert(alert_card(comment="a&" * 4000))["blocks"][2]["text"]["text"]
    assert len(comment) <= 3000 and comment.endswith("…")
    assert re.search(r"&[a-z]*…$", comment) is None


@pytest.mark.parametrize("bogus", ["<!channel>", "U123|x", "u0123abc", "29:1abcTeamsId", "U", ""])
def test_mention_needs_a_slack_user_id(bogus: str) -> None:
    survey = blocks.survey_prompt(prompt(Metric.CES, "en", mention_user_id=bogus))
    card = blocks.alert(alert_card(contact_user_id=bogus, account_manager_user_id=bogus))
    assert "<@" not in json.dumps(survey) + json.dumps(card)
    assert survey["blocks"][0]["text"]["text"].startswith("*How easy")
    contact = {"type": "mrkdwn", "text": "*Contact*\nMaija Virtanen", "verbatim": True}
    assert contact in card["blocks"][1]["fields"]


def test_score_buttons_round_trip_through_the_ids() -> None:
    payload = blocks.render(prompt(Metric.NPS, "en"))
    (actions,) = [block for block in payload["blocks"] if block["type"] == "actions"]
    assert actions["block_id"] == "cx_survey:1042"
    parsed = [ids.parse_score_value(button["value"]) for button in actions["elements"]]
    assert parsed == [(1042, score) for score in range(11)]
    assert [b["action_id"] for b in actions["elements"]] == [f"cx_score:{s}" for s in range(11)]


def test_long_button_label_is_clipped_to_75() -> None:
    buttons = (ScaleButton(score=1, label="x" * 200), ScaleButton(score=2))
    payload = blocks.survey_prompt(prompt(Metric.CES, "en", buttons=buttons))
    first = payload["blocks"][1]["elements"][0]["text"]["text"]
    assert len(first) == 75 and first.endswith("…")


def test_alert_actions_and_manager_mention_follow_the_status() -> None:
    def actions(card: AlertCard) -> list[str]:
        found = [b for b in blocks.alert(card)["blocks"] if b["type"] == "actions"]
        return [e["action_id"] for block in found for e in block["elements"]]

    assert actions(alert_card()) == ["cx_alert_ack", "cx_alert_assign", "cx_alert_resolve"]
    assert actions(acknowledged_card()) == ["cx_alert_assign", "cx_alert_resolve"]
    assert actions(resolved_card()) == []
    assert blocks.alert(alert_card())["text"].startswith(f"<@{MANAGER}> ")
    assert f"<@{MANAGER}>" not in json.dumps(blocks.alert(acknowledged_card()))


def test_non_slack_assignee_is_shown_escaped_without_initial_user() -> None:
    dumped = json.dumps(blocks.alert(alert_card(assignee="teams:<!here>")))
    assert "initial_user" not in dumped and "teams:&lt;!here&gt;" in dumped
    assert '"initial_user": "U06ANNA003"' in json.dumps(blocks.alert(acknowledged_card()))


def table_rows(payload: Payload) -> list[str]:
    """The data rows of every table chunk (each chunk: fence, header, rule, rows, fence)."""
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    return [row for text in texts if text.startswith("```") for row in text.split("\n")[3:-1]]


@pytest.mark.parametrize("count", [200, 5000])
def test_big_report_stays_within_slack_limits(count: int) -> None:
    payload = blocks.report(report_msg("en", count))
    assert len(payload["blocks"]) <= 50
    more = re.search(r"and (\d+) more rows", json.dumps(payload))
    hidden = int(more.group(1)) if more else 0
    assert len(table_rows(payload)) + hidden == count + 1  # the accounts and the total
    assert (more is None) == (count == 200)


def test_table_labels_are_escaped_and_aligned() -> None:
    payload = blocks.report(report_msg("en"))
    assert "Bits &amp; &lt;Bytes&gt; Ab" in payload["blocks"][1]["text"]["text"]
    unescaped = [re.sub(r"&(amp|lt|gt);", "_", row) for row in table_rows(payload)]
    assert len({len(row) for row in unescaped}) == 1
    assert "too few" not in "".join(unescaped) and "– (n=2)" in unescaped[1]
    assert payload["blocks"][2]["elements"][0]["text"] == "– (n=…) = too few responses"


def test_digest_ignores_the_chart() -> None:
    with_chart = digest_msg("fi")
    without = with_chart.model_copy(update={"chart_png_base64": None})
    assert blocks.digest(with_chart) == blocks.digest(without)
    assert "iVBORw0KGgo" not in json.dumps(blocks.digest(with_chart))


def test_why_modal_offers_every_driver_and_carries_the_survey() -> None:
    view = blocks.why_modal(survey_id=1042, locale="fi", metric="csat", score=5)
    assert len(view["title"]["text"]) <= 24 and view["callback_id"] == "cx_why_modal"
    assert ids.parse_metadata(view["private_metadata"], "survey_id") == 1042
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == list(DRIVERS) and len(options) <= 10
    assert view["blocks"][2]["element"]["max_length"] == 3000


def test_resolve_modal_offers_every_outcome() -> None:
    view = blocks.resolve_modal(alert_id=77, locale="en")
    assert ids.parse_metadata(view["private_metadata"], "alert_id") == 77
    assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == list(CHOOSABLE_OUTCOMES)
    assert [b["block_id"] for b in view["blocks"]] == ["outcome", "note", "notify"]


def test_parse_score_value() -> None:
    assert ids.parse_score_value("42:3") == (42, 3)
    assert ids.parse_score_value("2147483647:10") == (2**31 - 1, 10)


@pytest.mark.parametrize("value", ["2147483648:1", "9" * 400 + ":10"])
def test_ids_beyond_a_database_integer_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        ids.parse_score_value(value)


@pytest.mark.parametrize(
    "value", ["1:x", "", "1:2:3", ":1", "1:", "+1:2", "1:-2", " 1:2", "1:2\n", "١:2", "1_0:2"]
)
def test_parse_score_value_rejects_malformed(value: str) -> None:
    with pytest.raises(ValueError):
        ids.parse_score_value(value)


MALFORMED_METADATA: tuple[str, ...] = ("", "null", "[]", "{}", "not json", "[" * 2999, "{" * 5000)
MALFORMED_METADATA += ('{"survey_id":"5"}', '{"survey_id":true}', '{"survey_id":-1}')
MALFORMED_METADATA += ('{"survey_id":1.5}', '{"alert_id":5}', '{"survey_id":[1]}')


@pytest.mark.parametrize("text", MALFORMED_METADATA)
def test_parse_metadata_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        ids.parse_metadata(text, "survey_id")


def test_parse_metadata_and_ids_round_trip() -> None:
    assert ids.parse_metadata(ids.metadata("survey_id", 12), "survey_id") == 12
    assert ids.parse_id("007") == 7
    assert ids.parse_prefixed_id(ids.alert_block_id(77), ids.ALERT_BLOCK_PREFIX) == 77
    with pytest.raises(ValueError):
        ids.parse_prefixed_id("cx_alert:7x", ids.ALERT_BLOCK_PREFIX)


def test_render_dispatches_every_message_type() -> None:
    cases: list[tuple[Message, Callable[[Any], Payload]]] = [
        (prompt(Metric.CES, "en"), blocks.survey_prompt),
        (thanks("en"), blocks.thank_you),
        (SurveyClosedNotice(survey_id=1, locale="en"), blocks.survey_closed),
        (alert_card(), blocks.alert),
        (report_msg("en"), blocks.report),
        (digest_msg("en"), blocks.digest),
        (TextMessage(text="hi"), blocks.text),
    ]
    # Every chat message; a webhook event goes to its endpoint, never to a chat, and only
    # Teams queues a report's file offer (Slack uploads the file itself).
    chat = set(get_args(get_args(Message)[0])) - {WebhookEvent, ReportFile}
    assert {type(message) for message, _ in cases} == chat
    for message, renderer in cases:
        assert blocks.render(message) == renderer(message)
    with pytest.raises(TypeError, match="ScaleButton"):
        blocks.render(ScaleButton(score=1))  # type: ignore[arg-type]
    event = WebhookEvent(id="e", event="x", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), data={})
    with pytest.raises(TypeError, match="WebhookEvent"):
        blocks.render(event)
