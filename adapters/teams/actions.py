"""What a card action does: the same core calls as Slack's buttons and modals, answered with
the card the click leaves (Universal Actions show it to the clicker at once)."""

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
    """The card the clicked one should now be (`card`), and what to say where no card can
    be shown (`note`: the Action.Submit fallback of older clients). A refusal has a note
    only: the clicked card stays as it is, and the note is for the clicker's eyes."""

    card: dict[str, Any] | None = None
    note: str | None = None


# Places a person picked on a card (an assignee) by their id: staff or customer.
Members = Callable[[str], Awaitable[Caller]]
AlertAction = card_ids.AckAction | card_ids.AssignAction | card_ids.ResolveAction


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
    match action:
        case card_ids.ScoreAction():
            return await _refusals(_score(core, action, caller, shown_in))
        case card_ids.WhyAction():
            return await _refusals(_why(core, action, caller))
        case _:
            return await _refusals(_alert_step(core, action, caller, members))


async def shown_after(core: Core, action: card_ids.Action, caller: Caller) -> ActionResult:
    """The card a click that was carried out already leaves, read afresh and nothing done
    again: the answer to an invoke Teams delivers a second time."""
    match action:
        case card_ids.ScoreAction() | card_ids.WhyAction():
            return await _refusals(_thank_you_now(core, action.survey_id, caller))
        case _:
            return await _refusals(_alert_now(core, action.alert_id, caller))


async def _refusals(step: Awaitable[ActionResult]) -> ActionResult:
    """`step`'s result, or the core's refusal as a note only the clicker sees."""
    try:
        return await step
    except NotYourSurvey as exc:
        name = exc.contact_name
        return ActionResult(note=texts.t("not_your_survey", exc.locale, name=name))
    except NotAllowed as exc:
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


async def _thank_you_now(core: Core, survey_id: int, caller: Caller) -> ActionResult:
    answered = await chat.answered_survey(core, survey_id=survey_id, respondent=caller)
    return ActionResult(card=cards.render(answered.thank_you))


async def _alert_step(
    core: Core, action: AlertAction, caller: Caller, members: Members
) -> ActionResult:
    match action:
        case card_ids.AckAction():
            await chat.acknowledge(core, alert_id=action.alert_id, by=caller)
        case card_ids.AssignAction():
            # The people picker offers the whole directory, guests included.
            assignee = await members(action.assignee)
            await chat.assign(core, alert_id=action.alert_id, by=caller, assignee=assignee)
        case card_ids.ResolveAction():
            await chat.resolve(
                core,
                alert_id=action.alert_id,
                by=caller,
                outcome=action.outcome,
                note=action.note,
                notify_customer=action.notify,
            )
    return await _alert_now(core, action.alert_id, caller)


async def _alert_now(core: Core, alert_id: int, caller: Caller) -> ActionResult:
    """The alert's card with the step in it (the queue updates it for everyone else)."""
    alert = await chat.alert_card(core, alert_id=alert_id, by=caller)
    return ActionResult(card=cards.render(alert), note=texts.t("alert_updated", alert.locale))
