"""The data contract of Adaptive Card actions, shared by the card renderers and the Teams
handlers, so a button and the handler for its click cannot drift apart.

Every action the cards carry is an `Action.Execute` with verb `cx` (Universal Actions) and a
`fallback` `Action.Submit` with the same `data`. `data` is always an object whose `cx` key
names what the click means:

    {"cx": "score",   "survey_id": N, "score": S}
    {"cx": "why",     "survey_id": N, "reasons": "speed,price", "comment": "…"}
    {"cx": "ack",     "alert_id": N}
    {"cx": "assign",  "alert_id": N, "assignee": "<AAD object id>"}
    {"cx": "resolve", "alert_id": N, "outcome": "fixed", "note": "…", "notify": "true"}

The card holds only `cx` and the id; the client adds the values of the inputs (ids
`reasons`, `comment`, `assignee`, `outcome`, `note`, `notify`) when the action is clicked,
as strings: a multi-select choice set sends its values comma-separated, a toggle "true" or
"false". Execute delivers the merged object as `value.action.data` of an
`adaptiveCard/action` invoke; the Submit fallback as the `value` of a message activity.

Whatever arrives is attacker-controlled, however Teams signs the request: `parse_action`
accepts exactly what the renderers and those inputs produce and raises ValueError on
anything else, so a forged click becomes a clean refusal, never a crash or a wrong row.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from bot.domain.questions import DRIVERS
from bot.interfaces.chat import Outcome

VERB = "cx"
KEY = "cx"
SCORE, WHY, ACK, ASSIGN, RESOLVE = "score", "why", "ack", "assign", "resolve"

REASONS_INPUT = "reasons"
COMMENT_INPUT = "comment"
ASSIGNEE_INPUT = "assignee"
OUTCOME_INPUT = "outcome"
NOTE_INPUT = "note"
NOTIFY_INPUT = "notify"
COMMENT_MAX_LENGTH = NOTE_MAX_LENGTH = 3000
MAX_REASONS = 9
# The people picker: Input.ChoiceSet searching the organisation's users (Teams only). Its
# `choices.data` is in the Adaptive Cards schema from version 1.6: a card holding one says so.
PEOPLE_DATASET = "graph.microsoft.com/users"
PEOPLE_PICKER_VERSION = "1.6"
TOGGLE_ON, TOGGLE_OFF = "true", "false"

# Ids are database integers: anything larger is not one of ours (and would overflow).
MAX_ID = 2**31 - 1
# The widest scale is NPS 0–10; the core checks the score against the survey's own scale.
MAX_SCORE = 10
# A comma-separated reasons string longer than every driver key together is not ours.
_REASONS_TEXT_MAX = 400

# Teams user ids: "29:1…" (Bot Framework, base64url-ish) or an Azure AD object id (GUID).
_BOT_FRAMEWORK_ID = re.compile(r"29:[A-Za-z0-9_\-+/=]{1,300}", re.ASCII)
_AAD_OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", re.ASCII)


def teams_user_id(value: str | None) -> str | None:
    """`value` if it looks like a Teams user id ("29:1…" or an AAD object id), else None."""
    if not isinstance(value, str):
        return None
    if _BOT_FRAMEWORK_ID.fullmatch(value) or _AAD_OBJECT_ID.fullmatch(value):
        return value
    return None


def aad_object_id(value: str | None) -> str | None:
    """`value` if it is an AAD object id (what the people picker submits), else None."""
    if isinstance(value, str) and _AAD_OBJECT_ID.fullmatch(value):
        return value
    return None


def score_data(survey_id: int, score: int) -> dict[str, object]:
    return {KEY: SCORE, "survey_id": survey_id, "score": score}


def why_data(survey_id: int) -> dict[str, object]:
    return {KEY: WHY, "survey_id": survey_id}


def alert_data(verb: str, alert_id: int) -> dict[str, object]:
    """The data of an alert action (`ACK`, `ASSIGN` or `RESOLVE`)."""
    if verb not in (ACK, ASSIGN, RESOLVE):
        raise ValueError(f"not an alert action: {verb!r}")
    return {KEY: verb, "alert_id": alert_id}


# The inputs whose values the client merges into an action's data. They are built here, beside
# the parser, because their ids and value formats are the contract; renderers give the words.


def reasons_input(label: str, choices: list[tuple[str, str]]) -> dict[str, object]:
    """Reason chips: a multi-select (it submits "key,key") of (title, driver key) choices."""
    if len(choices) > MAX_REASONS:
        raise ValueError(f"{len(choices)} reasons offered: the parser takes {MAX_REASONS}")
    return {
        "type": "Input.ChoiceSet",
        "id": REASONS_INPUT,
        "label": label,
        "isMultiSelect": True,
        "style": "expanded",
        "choices": [{"title": title, "value": value} for title, value in choices],
    }


def long_text_input(input_id: str, label: str) -> dict[str, object]:
    """An optional multi-line text (`comment` or `note`), capped where the parser caps it."""
    return {
        "type": "Input.Text",
        "id": input_id,
        "label": label,
        "isMultiline": True,
        "maxLength": COMMENT_MAX_LENGTH,
    }


def people_picker(label: str, current: str | None) -> dict[str, object]:
    """Teams' people picker: one of the organisation's users; it submits their AAD id."""
    picker: dict[str, object] = {
        "type": "Input.ChoiceSet",
        "id": ASSIGNEE_INPUT,
        "label": label,
        "isRequired": True,
        "choices": [],
        "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET},
    }
    if aad_object_id(current):
        picker["value"] = current
    return picker


def outcome_input(label: str, choices: list[tuple[str, str]]) -> dict[str, object]:
    """How an alert was closed: a required single choice of (title, `Outcome` value)."""
    return {
        "type": "Input.ChoiceSet",
        "id": OUTCOME_INPUT,
        "label": label,
        "isRequired": True,
        "style": "compact",
        "choices": [{"title": title, "value": value} for title, value in choices],
    }


def notify_input(label: str, title: str) -> dict[str, object]:
    """Whether to tell the customer: a toggle submitting "true" or "false"."""
    return {
        "type": "Input.Toggle",
        "id": NOTIFY_INPUT,
        "label": label,
        "title": title,
        "value": TOGGLE_OFF,
        "valueOn": TOGGLE_ON,
        "valueOff": TOGGLE_OFF,
    }


def _reasons(value: object) -> tuple[str, ...]:
    """A multi-select choice set's "a,b" (or a JSON list of strings) as a tuple of keys."""
    if isinstance(value, str):
        if len(value) > _REASONS_TEXT_MAX:
            raise ValueError("reasons too long")
        return tuple(part for part in value.split(",") if part)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("reasons must be a string or a list of strings")


def _known_drivers(reasons: tuple[str, ...]) -> tuple[str, ...]:
    if len(reasons) > MAX_REASONS:
        raise ValueError(f"at most {MAX_REASONS} reasons")
    unknown = [reason for reason in reasons if reason not in DRIVERS]
    if unknown:
        raise ValueError(f"{len(unknown)} unknown reason(s)")
    return reasons


def _toggle(value: object) -> bool:
    """An Input.Toggle's "true"/"false" (or a JSON boolean)."""
    if isinstance(value, bool):
        return value
    if value in (TOGGLE_ON, TOGGLE_OFF):
        return value == TOGGLE_ON
    raise ValueError("notify must be 'true' or 'false'")


def _assignee(value: str) -> str:
    found = aad_object_id(value)
    if found is None:
        raise ValueError("assignee must be an Azure AD object id")
    return found


Id = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
Score = Annotated[StrictInt, Field(ge=0, le=MAX_SCORE)]
LongText = Annotated[StrictStr, Field(max_length=COMMENT_MAX_LENGTH)]
Reasons = Annotated[tuple[str, ...], BeforeValidator(_reasons), AfterValidator(_known_drivers)]
Toggle = Annotated[bool, BeforeValidator(_toggle)]
Assignee = Annotated[StrictStr, AfterValidator(_assignee)]


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoreAction(_Action):
    cx: Literal["score"]
    survey_id: Id
    score: Score


class WhyAction(_Action):
    cx: Literal["why"]
    survey_id: Id
    reasons: Reasons = ()
    comment: LongText | None = None


class AckAction(_Action):
    cx: Literal["ack"]
    alert_id: Id


class AssignAction(_Action):
    cx: Literal["assign"]
    alert_id: Id
    assignee: Assignee


class ResolveAction(_Action):
    cx: Literal["resolve"]
    alert_id: Id
    outcome: Outcome
    note: LongText | None = None
    notify: Toggle = False


Action = Annotated[
    ScoreAction | WhyAction | AckAction | AssignAction | ResolveAction,
    Field(discriminator="cx"),
]
_ACTION: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(value: object) -> Action:
    """The action a card's data (merged with its inputs) stands for; ValueError if it is not
    exactly one of ours. The message names the fields and the kind of each mistake, never
    the input itself (it ends up in logs)."""
    try:
        return _ACTION.validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'data'}: {error['type']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise ValueError(f"malformed card action: {problems}") from None


def parse_invoke(value: object) -> Action:
    """The action of an `adaptiveCard/action` invoke's `value`: an Action.Execute with our
    verb and its data."""
    action = value.get("action") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        raise ValueError("not an Action.Execute invoke")
    if action.get("verb") != VERB:
        raise ValueError("not a cxbot action")
    return parse_action(action.get("data"))
