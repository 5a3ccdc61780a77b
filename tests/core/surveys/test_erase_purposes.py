"""Erasure reaches every queued item that carries the contact's personal data, derived from
the delivery purposes' own classification (no hand-kept list), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.delivery.queue import Purpose, Subject, personal, to_contact
from bot.surveys import privacy
from storage.engine import Sessions
from storage.models import Delivery
from tests.core.surveys.test_privacy import NOW, Seeded, _add, _delivery, core_for, seed

PERSONAL = [p for p in Purpose if p.personal]
NOT_PERSONAL = [p for p in Purpose if not p.personal]


def test_every_purpose_is_classified() -> None:
    for purpose in Purpose:
        assert isinstance(purpose.subject, Subject) and isinstance(purpose.personal, bool)
        # A message to the contact names them (its target is their chat).
        assert purpose.personal or not purpose.to_contact
        # Erasure finds personal items through their subject: a personal purpose needs one.
        assert not purpose.personal or purpose.subject != Subject.NONE
    assert {Purpose.SURVEY_PROMPT, Purpose.ALERT, Purpose.FOLLOW_UP} <= set(PERSONAL)
    # An outbound webhook takes the answer out of cxbot: once erased, it must not go either.
    assert set(to_contact(Subject.SURVEY)) == {
        Purpose.SURVEY_PROMPT,
        Purpose.SURVEY_REMINDER,
        Purpose.WEBHOOK_RESPONSE,
    }
    assert set(personal(Subject.ALERT)) == {Purpose.ALERT, Purpose.ALERT_UPDATE, Purpose.FOLLOW_UP}


async def _queue(sessions: Sessions, seeded: Seeded, purpose: Purpose) -> tuple[int, int]:
    """One finished and one pending item of `purpose` about Maija's survey or alert."""
    async with sessions() as session, session.begin():
        card = await session.get(Delivery, seeded.alert_card)
        assert card is not None and card.subject_id is not None
        subject = card.subject_id if purpose.subject == Subject.ALERT else seeded.maija_scheduled
        done = await _add(session, _delivery(f"{purpose}-done", purpose, subject, "done"))
        waiting = await _add(session, _delivery(f"{purpose}-wait", purpose, subject, "pending"))
    return done.id, waiting.id


@pytest.mark.parametrize("purpose", PERSONAL, ids=str)
async def test_erase_reaches_every_personal_purpose(sessions: Sessions, purpose: Purpose) -> None:
    seeded = await seed(sessions)
    done_id, waiting_id = await _queue(sessions, seeded, purpose)
    await privacy.erase_contact(core_for(sessions), seeded.maija, now=NOW)
    async with sessions() as session:
        done = await session.get(Delivery, done_id)
        waiting = await session.get(Delivery, waiting_id)
    assert done is not None and done.payload == {}
    assert waiting is not None
    if purpose.to_contact:  # it would still reach the person: it never goes
        assert (waiting.status, waiting.payload) == ("failed", {})
    else:  # it asks nothing (takes buttons away, shows the team a card): it may go
        assert waiting.status == "pending" and waiting.payload != {}


@pytest.mark.parametrize("purpose", NOT_PERSONAL, ids=str)
async def test_erase_leaves_items_without_personal_data(
    sessions: Sessions, purpose: Purpose
) -> None:
    seeded = await seed(sessions)
    done_id, waiting_id = await _queue(sessions, seeded, purpose)
    await privacy.erase_contact(core_for(sessions), seeded.maija, now=NOW)
    async with sessions() as session:
        for delivery_id in (done_id, waiting_id):
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None and delivery.payload != {}


@pytest.mark.parametrize("purpose", PERSONAL, ids=str)
async def test_erase_treats_a_held_item_as_waiting(sessions: Sessions, purpose: Purpose) -> None:
    """A held item goes out when its hold is released, like a pending one: erasure must not
    leave it held with its payload dropped (released, it would fail as unreadable)."""
    seeded = await seed(sessions)
    _, waiting_id = await _queue(sessions, seeded, purpose)
    async with sessions() as session, session.begin():
        waiting = await session.get(Delivery, waiting_id)
        assert waiting is not None
        waiting.status, waiting.held_by = "held", "workspace:slack:-"
    await privacy.erase_contact(core_for(sessions), seeded.maija, now=NOW)
    async with sessions() as session:
        held = await session.get(Delivery, waiting_id)
    assert held is not None
    if purpose.to_contact:
        assert (held.status, held.payload) == ("failed", {})
    else:
        assert held.status == "held" and held.payload != {}
