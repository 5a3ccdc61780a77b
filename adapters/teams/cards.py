"""Adaptive Card rendering of the neutral messages (version 1.5; 1.6 where a people picker
needs it): pure functions returning plain dicts, so they need no Bot Framework SDK and are
checked against golden JSON and the official schema of their version.

This module holds the customer-facing side (survey prompt, thank-you with its "why" form,
closed notice), addressed text, and `render`, which dispatches every message type; the
account team's side (alerts, reports, digests) is in `cards_team`. Buttons are
Action.Execute with an Action.Submit fallback; their data follows `card_ids`.

Mentions need a display name inside `<at>…</at>`: the adapter passes `names` (user id →
name, from the conversation roster) when it knows them; otherwise a generic word is shown.
Only valid Teams user ids are ever mentioned.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.teams import card_ids
from adapters.teams.cards_team import alert, digest, report
from adapters.teams.markdown import (
    ELLIPSIS,
    LONG_MAX,
    Card,
    Element,
    Names,
    action_set,
    card,
    escape,
    execute,
    md,
    mention,
    mentions,
    score_text,
    styled_md,
    t_md,
    text_block,
)
from bot.domain.questions import DRIVERS, driver_label
from bot.i18n.texts import t
from bot.messages import (
    AlertCard,
    DigestMessage,
    Message,
    ReportMessage,
    ScaleButton,
    SurveyClosedNotice,
    SurveyPrompt,
    TextMessage,
    ThankYou,
)

__all__ = [
    "alert",
    "digest",
    "render",
    "report",
    "survey_closed",
    "survey_prompt",
    "text",
    "thank_you",
]

# Teams shows at most six actions of an ActionSet on the card and hides the rest in an
# overflow menu, so a longer scale is split over several rows of buttons.
MAX_BUTTONS_PER_ROW = 6


def render(message: Message, *, chart_url: str | None = None, names: Names = None) -> Card:
    """The Adaptive Card of any neutral message. `chart_url` is the digest's chart image
    (signed URL or data URI); `names` maps user ids to display names for mentions."""
    match message:
        case SurveyPrompt():
            return survey_prompt(message, names=names)
        case ThankYou():
            return thank_you(message)
        case SurveyClosedNotice():
            return survey_closed(message)
        case AlertCard():
            return alert(message, names=names)
        case ReportMessage():
            return report(message)
        case DigestMessage():
            return digest(message, chart_url=chart_url)
        case TextMessage():
            return text(message, names=names)
    raise TypeError(f"cannot render {type(message).__name__} for Teams")


def survey_prompt(msg: SurveyPrompt, *, names: Names = None) -> Card:
    """The question (after a mention of the contact and, on a reminder, the reminder line),
    a button per score in rows of at most six, and the meaning of the two ends."""
    found = mention(msg.mention_user_id, names, msg.locale)
    lead = [found[0]] if found else []
    if msg.reminder:
        lead.append(escape(t("reminder", msg.locale)))
    body = [text_block(" ".join(lead))] if lead else []
    body.append(text_block(md(msg.question), weight="Bolder", size="Medium"))
    body += [action_set(row) for row in _button_rows(msg.survey_id, msg.buttons)]
    if msg.buttons:
        body.append(text_block(_scale_ends(msg), isSubtle=True, size="Small", spacing="None"))
    return card(body, entities=[found[1]] if found else None)


def _button_rows(survey_id: int, buttons: Sequence[ScaleButton]) -> list[list[Element]]:
    """The buttons in as few rows as fit, of near-equal length (NPS: 6 + 5, CES: 4 + 3)."""
    count = -(-len(buttons) // MAX_BUTTONS_PER_ROW)
    size = -(-len(buttons) // count) if count else 0
    rows = [buttons[start : start + size] for start in range(0, len(buttons), size or 1)]
    return [[_score_button(survey_id, button) for button in row] for row in rows]


def _score_button(survey_id: int, button: ScaleButton) -> Element:
    title = f"{button.score} {button.label}" if button.label else str(button.score)
    return execute(title, card_ids.score_data(survey_id, button.score))


def _scale_ends(msg: SurveyPrompt) -> str:
    low, high = msg.buttons[0].score, msg.buttons[-1].score
    return md(f"{low} = {msg.low_label} · {high} = {msg.high_label}")


def thank_you(msg: ThankYou) -> Card:
    """Thanks with the chosen score, then the "why" form inline (reason choices, a comment
    and a send button), or once the reasons are in, a note that they were received."""
    score = f"**{escape(score_text(msg.metric, msg.score))}**"
    thanks = f"{escape(t('thank_you', msg.locale))} {t_md('your_score', msg.locale, score=score)}"
    body = [text_block(thanks)]
    if msg.reasons_saved:
        body.append(text_block(escape(t("reasons_saved", msg.locale))))
    else:
        body += _why_form(msg)
    return card(body)


def _why_form(msg: ThankYou) -> list[Element]:
    send = execute(t("submit", msg.locale), card_ids.why_data(msg.survey_id), style="positive")
    return [
        text_block(md(msg.why_prompt), weight="Bolder", separator=True),
        card_ids.reasons_input(t("reasons_label", msg.locale), _drivers(msg.locale)),
        card_ids.long_text_input(card_ids.COMMENT_INPUT, t("comment_label", msg.locale)),
        action_set([send]),
    ]


def _drivers(locale: str) -> list[tuple[str, str]]:
    return [(driver_label(key, locale), key) for key in DRIVERS]


def survey_closed(msg: SurveyClosedNotice) -> Card:
    return card([text_block(escape(t("survey_closed", msg.locale)))])


def text(msg: TextMessage, *, names: Names = None) -> Card:
    """The text, escaped, after mentions of the people it addresses (valid user ids only).
    A text has no locale of its own: an unnamed mention uses the English word."""
    lead, entities = mentions(msg.mentions, names, None)
    body = md(msg.text, LONG_MAX) if msg.text.strip() else ELLIPSIS
    if msg.styled and msg.text.strip():
        body = styled_md(msg.styled, msg.text)
    return card([text_block(f"{lead} {body}" if lead else body)], entities=entities or None)
