"""Block Kit rendering of the neutral messages (pure: no I/O, plain dicts for the Web API).

This module holds the customer-facing side (survey prompt, thank-you, "tell us why" modal)
and `render`, which dispatches every message type; the account team's side (alerts, the
resolve modal) is in `blocks_team`, reports and digests in `blocks_report`. Blocks are built
with `slack_sdk.models` so Slack's limits are checked when `to_dict()` runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters.slack import ids
from adapters.slack.blocks_report import digest, report
from adapters.slack.blocks_team import alert, resolve_modal
from adapters.slack.blocks_text import (
    BUTTON_MAX,
    ELLIPSIS,
    FALLBACK_MAX,
    LABEL_MAX,
    OPTION_MAX,
    SECTION_MAX,
    VIEW_TITLE_MAX,
    Payload,
    context,
    escape,
    fit,
    md,
    mention,
    message,
    plain,
    score_text,
    section,
)
from bot.domain.questions import DRIVERS, driver_label, why_prompt
from bot.domain.scoring import Metric
from bot.i18n.texts import t
from bot.messages import (
    AlertCard,
    DigestMessage,
    Message,
    ReportMessage,
    ScaleButton,
    SpanStyle,
    SurveyClosedNotice,
    SurveyPrompt,
    TextMessage,
    ThankYou,
    emphasized,
)

# The neutral emphasis in mrkdwn: bold, and code for words to type.
MARKS: Mapping[SpanStyle, str] = MappingProxyType({"strong": "*", "code": "`"})

__all__ = [
    "alert",
    "digest",
    "escape",
    "render",
    "report",
    "resolve_modal",
    "survey_closed",
    "survey_prompt",
    "text",
    "thank_you",
    "why_modal",
]

# Slack shows at most 10 options in one checkbox group.
_MAX_CHECKBOXES = 10


def render(message: Message) -> Payload:
    """The Web API payload of any neutral message: `{"text", "blocks"}`."""
    match message:
        case SurveyPrompt():
            return survey_prompt(message)
        case ThankYou():
            return thank_you(message)
        case SurveyClosedNotice():
            return survey_closed(message)
        case AlertCard():
            return alert(message, locale=message.locale)
        case ReportMessage():
            return report(message)
        case DigestMessage():
            return digest(message)
        case TextMessage():
            return text(message)
    raise TypeError(f"cannot render {type(message).__name__} for Slack")


def survey_prompt(msg: SurveyPrompt) -> Payload:
    """The question (mentioning the contact in a shared thread), a button per score and the
    meaning of the two ends of the scale."""
    lead = _prompt_lead(msg)
    question = fit(msg.question, SECTION_MAX - len(lead) - 3)
    blocks: list[Block] = [
        section(f"{lead}\n*{question}*" if lead else f"*{question}*"),
        ActionsBlock(
            block_id=ids.survey_block_id(msg.survey_id),
            elements=[_score_button(msg.survey_id, button) for button in msg.buttons],
        ),
    ]
    if msg.buttons:
        blocks.append(context(_scale_ends(msg)))
    fallback = fit(msg.question, FALLBACK_MAX - len(lead) - 1)
    return message(f"{lead} {fallback}" if lead else fallback, blocks)


def _prompt_lead(msg: SurveyPrompt) -> str:
    """The mention (only of a valid Slack id), then the reminder line on a reminder."""
    reminder = escape(t("reminder", msg.locale)) if msg.reminder else None
    return " ".join(part for part in (mention(msg.mention_user_id), reminder) if part)


def _score_button(survey_id: int, button: ScaleButton) -> ButtonElement:
    label = f"{button.score} {button.label}" if button.label else str(button.score)
    return ButtonElement(
        text=plain(label, BUTTON_MAX),
        action_id=ids.score_action_id(button.score),
        value=ids.score_value(survey_id, button.score),
    )


def _scale_ends(msg: SurveyPrompt) -> str:
    low, high = msg.buttons[0].score, msg.buttons[-1].score
    return fit(f"{low} = {msg.low_label} · {high} = {msg.high_label}", SECTION_MAX)


def thank_you(msg: ThankYou) -> Payload:
    """Thanks with the chosen score, then either the "tell us why" button or, once the
    reasons are in, a note that they were received."""
    thanks = t("thank_you", msg.locale)
    score = score_text(msg.metric, msg.score)
    line = f"{escape(thanks)} {escape(t('your_score', msg.locale, score=f'*{score}*'))}"
    blocks: list[Block] = [section(line)]
    if msg.reasons_saved:
        blocks.append(section(escape(t("reasons_saved", msg.locale))))
    else:
        blocks.append(_why_section(msg))
    fallback = f"{thanks} {t('your_score', msg.locale, score=score)}"
    return message(fit(fallback, FALLBACK_MAX), blocks)


def _why_section(msg: ThankYou) -> SectionBlock:
    return SectionBlock(
        text=md(fit(msg.why_prompt, SECTION_MAX)),
        accessory=ButtonElement(
            text=plain(t("tell_us_why", msg.locale), BUTTON_MAX),
            action_id=ids.WHY_ACTION,
            value=str(msg.survey_id),
            style="primary",
        ),
    )


def survey_closed(msg: SurveyClosedNotice) -> Payload:
    closed = t("survey_closed", msg.locale)
    return message(escape(closed), [section(escape(closed))])


def text(msg: TextMessage) -> Payload:
    """The text, escaped, after mentions of the people it addresses (valid user ids only);
    its emphasis (`styled`) in mrkdwn, or the plain text cut to fit when that would not fit."""
    lead = " ".join(filter(None, (mention(user) for user in msg.mentions)))
    room = SECTION_MAX - len(lead) - 1
    body = fit(msg.text, room) if msg.text.strip() else ELLIPSIS
    if msg.styled and msg.text.strip():
        marked = emphasized(msg.styled, escape=lambda span: escape(span.text), marks=MARKS)
        body = marked if len(marked) <= room else body
    body = f"{lead} {body}" if lead else body
    return message(f"{lead} {fit(msg.text, FALLBACK_MAX - 200)}".strip(), [section(body)])


def why_modal(*, survey_id: int, locale: str, metric: str, score: int) -> Payload:
    """The "tell us why" modal: the follow-up question, reason chips and a comment box,
    both optional. `metric` must be a known metric (the handler read it from the survey)."""
    view = View(
        type="modal",
        callback_id=ids.WHY_MODAL,
        title=plain(t("tell_us_why", locale), VIEW_TITLE_MAX),
        submit=plain(t("submit", locale), VIEW_TITLE_MAX),
        close=plain(t("cancel", locale), VIEW_TITLE_MAX),
        private_metadata=ids.metadata(ids.SURVEY_ID_KEY, survey_id),
        blocks=[
            section(f"*{escape(why_prompt(Metric(metric), score, locale))}*"),
            _reasons_input(locale),
            _comment_input(locale),
        ],
    )
    result: Payload = view.to_dict()
    return result


def _reasons_input(locale: str) -> InputBlock:
    options = [
        Option(value=key, text=plain(driver_label(key, locale), OPTION_MAX)) for key in DRIVERS
    ]
    if len(options) > _MAX_CHECKBOXES:
        raise ValueError(f"{len(options)} drivers: a checkbox group holds {_MAX_CHECKBOXES}")
    return InputBlock(
        block_id=ids.REASONS_BLOCK,
        label=plain(t("reasons_label", locale), LABEL_MAX),
        element=CheckboxesElement(action_id=ids.REASONS_ACTION, options=options),
        optional=True,
    )


def _comment_input(locale: str) -> InputBlock:
    return InputBlock(
        block_id=ids.COMMENT_BLOCK,
        label=plain(t("comment_label", locale), LABEL_MAX),
        element=PlainTextInputElement(
            action_id=ids.COMMENT_ACTION, multiline=True, max_length=ids.COMMENT_MAX_LENGTH
        ),
        optional=True,
    )
