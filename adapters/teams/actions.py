"""What a card action does: the same core calls as Slack's buttons and modals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.teams import card_ids, cards
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import InvalidInput, NotAllowed, NotFound, NotYourSurvey, SurveyClosed
from bot.i18n import texts
from bot.interfaces import chat
from bot.messages import MessageRef


@dataclass(frozen=True)
class ActionResult:
    """A refreshed card for the clicker, or a note only they see."""

    card: dict[str, Any] | None = None
    note: str | None = None


# Places a person picked on a card (an assignee) by their id: staff or customer.
Members = Callable[[str], Awaitable[Caller]]


async def run_action(
    core: Core,
    action: card_ids.Action,
    caller: Caller,
    *,
    members: Members,
    shown_in: MessageRef | None = None,
) -> ActionResult:
    """`members` places an assignee picked on a card; `shown_in` is the message the clicked
    card is in, when the activity says."""
    try:
        match action:
            case card_ids.ScoreAction():
                return await _score(core, action, caller, shown_in)
            case card_ids.WhyAction():
                return await _why(core, action, caller)
            case _:
                return await _alert_step(core, action, caller, members)
    except NotYourSurvey as exc:
        name = exc.contact_name
        return ActionResult(note=texts.t("not_your_survey", exc.locale, name=name))
    except NotAllowed as exc:  # the core's refusal, for the clicker's eyes only
        return ActionResult(note=str(exc))
    except SurveyClosed as exc:
        return ActionResult(note=texts.t("survey_expired_note", exc.locale))
    except (NotFound, InvalidInput) as exc:
        return ActionResult(note=str(exc))


async def _score(
    core: Core, action: card_ids.ScoreAction, caller: Caller, shown_in: MessageRef | None
) -> ActionResult:
    answer = await chat.record_answer(
        core,
        survey_id=action.survey_id,
        score=action.score,
        respondent=caller,
        shown_in=shown_in,
    )
    # The clicker's card refreshed to the core's thank-you, in the customer's language.
    return ActionResult(card=cards.render(answer.thank_you))


async def _why(core: Core, action: card_ids.WhyAction, caller: Caller) -> ActionResult:
    thank_you = await chat.record_reasons(
        core,
        survey_id=action.survey_id,
        respondent=caller,
        reasons=list(action.reasons),
        comment=action.comment,
    )
    # The form gives way at once to the thank-you that says the reasons were saved.
    return ActionResult(card=cards.render(thank_you))


async def _alert_step(
    core: Core,
    action: card_ids.AckAction | card_ids.AssignAction | card_ids.ResolveAction,
    caller: Caller,
    members: Members,
) -> ActionResult:
    match action:
        case card_ids.AckAction():
            alert = await chat.acknowledge(core, alert_id=action.alert_id, by=caller)
        case card_ids.AssignAction():
            # The people picker offers the whole directory, guests included.
            assignee = await members(action.assignee)
            alert = await chat.assign(core, alert_id=action.alert_id, by=caller, assignee=assignee)
        case card_ids.ResolveAction():
            alert = await chat.resolve(
                core,
                alert_id=action.alert_id,
                by=caller,
                outcome=action.outcome,
                note=action.note,
                notify_customer=action.notify,
            )
    assert alert.id is not None
    return ActionResult(note=texts.t("alert_updated", await chat.alert_locale(core, alert.id)))
