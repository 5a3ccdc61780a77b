"""Deciding and storing the surveys of a batch of interactions.

The facts `rules.decide` needs are read for every contact and account of the batch at once
(two statements), then each survey is decided in batch order against a ledger that also
counts the surveys decided before it in the batch, and all of them are inserted together. The
outcome is the one deciding and storing them one by one would give.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.schema import ProgramConfig
from bot.core import Core
from bot.domain import calendar, questions, rules
from bot.domain.scoring import Metric
from storage.models import Contact, SurveyStatus
from storage.queries import surveys
from storage.queries.surveys import ContactHistory, Window

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledSurvey:
    survey_id: int
    contact_id: int
    status: str
    reason: str | None
    due_at: datetime | None


@dataclass(frozen=True, eq=False)
class Ask:
    """One contact of one interaction, as the contact looked when the batch reached it."""

    interaction_id: int
    interaction_key: str  # "source:external_id", for sampling
    account_key: str  # the interaction's
    occurred_at: datetime
    contact: Contact
    opted_out: bool
    has_route: bool
    program: ProgramConfig | None
    due_at: datetime | None


async def plan_surveys(
    core: Core, session: AsyncSession, asks: Sequence[Ask], now: datetime
) -> dict[Ask, ScheduledSurvey]:
    """Decide and store a survey for each ask (each must have a program and a due time). An
    ask repeating an earlier one (the same contact twice in one interaction) shares its survey."""
    if not asks:
        return {}
    windows = {ask: _window(core, ask) for ask in asks}
    ledger = await _Ledger.load(session, asks, [w for w in windows.values() if w])
    rows: dict[tuple[int, int, str], dict[str, Any]] = {}
    for ask in asks:
        key = _key(ask)
        if key not in rows:
            decision = _decide(ask, ledger.facts(ask, windows[ask], now))
            ledger.record(ask, decision)
            rows[key] = _survey_row(ask, decision, now)
    ids = await surveys.insert_surveys(session=session, rows=list(rows.values()))
    for key, row in rows.items():
        logger.debug("survey %s for contact %s: %s", ids[key], key[1], row["suppressed_reason"])
    return {ask: _scheduled(ids[_key(ask)], rows[_key(ask)]) for ask in asks}


def _key(ask: Ask) -> tuple[int, int, str]:
    assert ask.contact.id is not None and ask.program is not None
    return ask.interaction_id, ask.contact.id, ask.program.metric


def _window(core: Core, ask: Ask) -> Window | None:
    """The contact's account's week of the due time, when the program caps surveys per week."""
    assert ask.program is not None and ask.due_at is not None
    if ask.program.weekly_cap is None:
        return None
    account = ask.contact.account_key
    start, end = calendar.week_bounds(at=ask.due_at, tz=core.account_tz(account))
    return account, start, end


def _decide(ask: Ask, facts: rules.ScheduleFacts) -> rules.Decision:
    assert ask.program is not None and ask.due_at is not None
    return rules.decide(
        program=ask.program,
        due_at=ask.due_at,
        facts=facts,
        interaction_key=ask.interaction_key,
        contact_key=str(ask.contact.id),
    )


def _survey_row(ask: Ask, decision: rules.Decision, now: datetime) -> dict[str, Any]:
    """The row of `surveys` (every column but the id) as a plain dict, like `Survey` would
    store it: an ORM object per row would cost more than the insert."""
    assert ask.program is not None
    return {
        "interaction_id": ask.interaction_id,
        "contact_id": ask.contact.id,
        "account_key": ask.account_key,
        "program": ask.program.name,
        "metric": ask.program.metric,
        "question_version": questions.CURRENT[Metric(ask.program.metric)].key,
        "status": SurveyStatus.SUPPRESSED if decision.suppressed else SurveyStatus.SCHEDULED,
        "suppressed_reason": decision.suppressed,
        "due_at": ask.due_at,
        "created_at": now,
        **_UNSET,
    }


# The columns the delivery loop fills in later; None as the ORM would store it.
_UNSET = MappingProxyType(
    dict.fromkeys(
        (
            "enqueued_at",
            "sent_at",
            "expires_at",
            "remind_at",
            "reminded_at",
            "answered_at",
            "closed_at",
            "message_ref",
            "reminder_ref",
        )
    )
)


def _scheduled(survey_id: int, row: dict[str, Any]) -> ScheduledSurvey:
    return ScheduledSurvey(
        survey_id=survey_id,
        contact_id=row["contact_id"],
        status=row["status"],
        reason=row["suppressed_reason"],
        due_at=row["due_at"],
    )


class _Ledger:
    """The contacts' and accounts' survey history: as stored, plus what the batch decided."""

    def __init__(self, histories: dict[int, ContactHistory], weekly: dict[Window, int]) -> None:
        self._open = {cid for cid, h in histories.items() if h.open_survey}
        self._last = {cid: h.last_surveyed_at for cid, h in histories.items()}
        self._weekly = weekly
        self._planned: dict[str, list[datetime]] = {}  # account -> due times asked so far

    @classmethod
    async def load(
        cls, session: AsyncSession, asks: Sequence[Ask], windows: Sequence[Window]
    ) -> _Ledger:
        ids = [ask.contact.id for ask in asks if ask.contact.id is not None]
        histories = await surveys.contact_histories(session=session, contact_ids=ids)
        weekly = await surveys.count_account_surveys(session=session, windows=windows)
        return cls(histories, weekly)

    def facts(self, ask: Ask, window: Window | None, now: datetime) -> rules.ScheduleFacts:
        assert ask.program is not None and ask.contact.id is not None
        max_age = ask.program.max_age
        return rules.ScheduleFacts(
            opted_out=ask.opted_out,
            has_route=ask.has_route,
            open_survey=ask.contact.id in self._open,
            last_surveyed_at=self._last.get(ask.contact.id),
            account_surveys_in_week=self._in_week(window),
            stale=max_age is not None and now - ask.occurred_at > max_age,
        )

    def record(self, ask: Ask, decision: rules.Decision) -> None:
        """A survey that will be asked counts from now on, as a stored one would."""
        if decision.due_at is None or ask.contact.id is None:
            return
        self._open.add(ask.contact.id)
        last = self._last.get(ask.contact.id)
        self._last[ask.contact.id] = decision.due_at if last is None else max(last, decision.due_at)
        insort(self._planned.setdefault(ask.account_key, []), decision.due_at)

    def _in_week(self, window: Window | None) -> int:
        if window is None:
            return 0  # no cap: the count decides nothing
        account, start, end = window
        planned = self._planned.get(account, [])
        return self._weekly.get(window, 0) + bisect_left(planned, end) - bisect_left(planned, start)
