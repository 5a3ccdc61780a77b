"""Block Kit for the account team: the detractor alert card and its resolve modal (pure).

Both are in the team's language, which the core decides: an `AlertCard`'s `locale`, and the
one `bot.interfaces.chat.start_resolving` answers for the modal.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    HeaderBlock,
    InputBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from adapters.slack import ids
from adapters.slack.blocks_text import (
    BUTTON_MAX,
    FALLBACK_MAX,
    FIELD_MAX,
    HEADER_MAX,
    LABEL_MAX,
    OPTION_MAX,
    PLACEHOLDER_MAX,
    SECTION_MAX,
    VIEW_TITLE_MAX,
    Payload,
    actor_user_id,
    escape,
    fit,
    md,
    mention,
    message,
    person,
    plain,
    quote,
    section,
    slack_date,
    t_md,
)
from bot.domain.questions import driver_label
from bot.i18n.texts import t
from bot.interfaces.chat import CHOOSABLE_OUTCOMES, Outcome
from bot.messages import AlertCard

_OPEN = "open"
_RESOLVED = "resolved"
_STATUSES = frozenset({_OPEN, "acknowledged", _RESOLVED})
# Room a field's value leaves for its bold label and the line break.
_FIELD_VALUE_MAX = FIELD_MAX - 100
_ACTOR_MAX = 200
# How the core writes a resolution: "<outcome> — <note>" (bot.alerts.workflow._resolution).
_RESOLUTION_SEPARATOR = " — "


def alert(msg: AlertCard, *, locale: str = "en") -> Payload:
    """The alert card: who scored what after which interaction, the comment as a quote,
    the status, and the actions its status still allows. While the alert is open its first
    line mentions the account manager, so they are notified."""
    heading = "no_response_title" if msg.kind == "no_response" else "alert_title"
    title = f"{t(heading, locale)} · {msg.account_name}"
    blocks: list[Block] = [HeaderBlock(text=plain(title, HEADER_MAX)), _summary(msg, locale)]
    if msg.comment and msg.comment.strip():
        blocks.append(section(quote(msg.comment, SECTION_MAX)))
    blocks.append(_status(msg, locale))
    if msg.status != _RESOLVED:
        blocks.append(_actions(msg, locale))
    return message(_fallback(msg, locale), blocks)


def _manager_mention(msg: AlertCard) -> str | None:
    return mention(msg.account_manager_user_id) if msg.status == _OPEN else None


def _fallback(msg: AlertCard, locale: str) -> str:
    if msg.kind == "no_response":
        text = f"{t('no_response_title', locale)} · {msg.account_name}"
    else:
        score = f"{msg.metric.upper()} {msg.score} / {msg.scale_max}"
        text = f"{t('alert_title', locale)} · {msg.account_name} — {score}"
        if msg.notice:  # closed by cxbot: the notification must not read as a new alert
            text += f" · {t('outcome_score_changed', locale)}"
    summary = fit(text, FALLBACK_MAX - 40)
    manager = _manager_mention(msg)
    return f"{manager} {summary}" if manager else summary


def _summary(msg: AlertCard, locale: str) -> SectionBlock:
    lead = _lead(msg, locale)
    if msg.kind == "no_response":
        account = _field("field_account", locale, fit(msg.account_name, _FIELD_VALUE_MAX))
        text = f"{lead}\n{fit(msg.summary or '', _FIELD_VALUE_MAX)}"
        return SectionBlock(text=md(text), fields=[account])
    contact = mention(msg.contact_user_id) or fit(msg.contact_name, _FIELD_VALUE_MAX)
    fields = [
        _field("field_account", locale, fit(msg.account_name, _FIELD_VALUE_MAX)),
        _field("field_contact", locale, contact),
        _field("field_score", locale, _score(msg)),
        _field("field_interaction", locale, fit(msg.interaction, _FIELD_VALUE_MAX)),
    ]
    if msg.reasons:
        fields.append(_field("field_reasons", locale, _reasons(msg.reasons, locale)))
    return SectionBlock(text=md(lead), fields=fields)


def _lead(msg: AlertCard, locale: str) -> str:
    """What happened; while open also a call to act, addressed to the account manager."""
    lead = escape(t("no_response_lead" if msg.kind == "no_response" else "alert_lead", locale))
    if msg.status != _OPEN:
        return lead
    manager = _manager_mention(msg)
    follow_up = f"{lead} {escape(t('alert_follow_up', locale))}"
    return f"{manager} {follow_up}" if manager else follow_up


def _field(label_key: str, locale: str, value: str) -> MarkdownTextObject:
    return md(f"*{escape(t(label_key, locale))}*\n{value}")


def _score(msg: AlertCard) -> str:
    return f"*{fit(msg.metric.upper(), 20)} {msg.score} / {msg.scale_max}*"


def _reasons(keys: Sequence[str], locale: str) -> str:
    return fit(", ".join(_reason_label(key, locale) for key in keys), _FIELD_VALUE_MAX)


def _reason_label(key: str, locale: str) -> str:
    """A driver's label; a key no longer in the taxonomy is shown as stored."""
    try:
        return driver_label(key, locale)
    except KeyError:
        return key


def _status(msg: AlertCard, locale: str) -> SectionBlock:
    word = t(f"status_{msg.status}", locale) if msg.status in _STATUSES else msg.status
    parts = [t_md("status_line", locale, status=f"*{fit(word, 100)}*")]
    if msg.acknowledged_by and msg.status != "open":
        by = person(msg.acknowledged_by, limit=_ACTOR_MAX)
        parts.append(t_md("acknowledged_by", locale, user=by))
    if msg.assignee:
        parts.append(t_md("assigned_to", locale, user=person(msg.assignee, limit=_ACTOR_MAX)))
    opened = slack_date(msg.opened_at, "{date_short_pretty} {time}")
    parts.append(t_md("opened_at", locale, date=opened))
    line = " · ".join(parts)
    if msg.resolution:
        line += "\n" + _resolution(msg.resolution, locale, SECTION_MAX - len(line) - 1)
    if msg.notice:
        line += "\n_" + fit(msg.notice, max(0, SECTION_MAX - len(line) - 3)) + "_"
    return section(line)


def _resolution(resolution: str, locale: str, limit: int) -> str:
    """The core's "<outcome> — <note>" with the outcome as its label, the note escaped."""
    head, separator, note = resolution.partition(_RESOLUTION_SEPARATOR)
    if head not in set(Outcome):
        return fit(resolution, limit)
    label = f"*{escape(t(f'outcome_{head}', locale))}*"
    if not separator:
        return label
    return f"{label}{_RESOLUTION_SEPARATOR}{fit(note, limit - len(label) - 3)}"


def _actions(msg: AlertCard, locale: str) -> ActionsBlock:
    value = str(msg.alert_id)
    elements: list[InteractiveElement] = []
    if msg.status == _OPEN:
        elements.append(_button("acknowledge", locale, ids.ALERT_ACK_ACTION, value))
    elements.append(
        UserSelectElement(
            placeholder=plain(t("assign_placeholder", locale), PLACEHOLDER_MAX),
            action_id=ids.ALERT_ASSIGN_ACTION,
            initial_user=actor_user_id(msg.assignee),
        )
    )
    elements.append(_button("resolve", locale, ids.ALERT_RESOLVE_ACTION, value, primary=True))
    return ActionsBlock(block_id=ids.alert_block_id(msg.alert_id), elements=elements)


def _button(
    label_key: str, locale: str, action_id: str, value: str, *, primary: bool = False
) -> ButtonElement:
    return ButtonElement(
        text=plain(t(label_key, locale), BUTTON_MAX),
        action_id=action_id,
        value=value,
        style="primary" if primary else None,
    )


def resolve_modal(*, alert_id: int, locale: str) -> Payload:
    """Asks how the alert was closed (required), what was done (optional note) and whether
    to send the customer a short thank-you about it."""
    view = View(
        type="modal",
        callback_id=ids.RESOLVE_MODAL,
        title=plain(t("resolve_title", locale), VIEW_TITLE_MAX),
        submit=plain(t("resolve", locale), VIEW_TITLE_MAX),
        close=plain(t("cancel", locale), VIEW_TITLE_MAX),
        private_metadata=ids.metadata(ids.ALERT_ID_KEY, alert_id),
        blocks=[_outcome_input(locale), _note_input(locale), _notify_input(locale)],
    )
    result: Payload = view.to_dict()
    return result


def _outcome_input(locale: str) -> InputBlock:
    options = [
        Option(value=outcome.value, text=plain(t(f"outcome_{outcome.value}", locale), OPTION_MAX))
        for outcome in CHOOSABLE_OUTCOMES
    ]
    return InputBlock(
        block_id=ids.OUTCOME_BLOCK,
        label=plain(t("outcome_label", locale), LABEL_MAX),
        element=StaticSelectElement(action_id=ids.OUTCOME_ACTION, options=options),
    )


def _note_input(locale: str) -> InputBlock:
    return InputBlock(
        block_id=ids.NOTE_BLOCK,
        label=plain(t("note_label", locale), LABEL_MAX),
        element=PlainTextInputElement(
            action_id=ids.NOTE_ACTION, multiline=True, max_length=ids.NOTE_MAX_LENGTH
        ),
        optional=True,
    )


def _notify_input(locale: str) -> InputBlock:
    option = Option(value=ids.NOTIFY_VALUE, text=plain(t("notify_option", locale), OPTION_MAX))
    return InputBlock(
        block_id=ids.NOTIFY_BLOCK,
        label=plain(t("notify_label", locale), LABEL_MAX),
        element=CheckboxesElement(action_id=ids.NOTIFY_ACTION, options=[option]),
        optional=True,
    )
