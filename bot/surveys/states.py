"""The two states every part of the survey loop asks about, defined once.

A survey is *sent* (asked) once its prompt reached the contact, and stays so when it is
answered or expires: the figures count it as asked. It is *open* (takes answers) while sent
or answered, not closed, and before its expiry. `storage.queries.surveys.was_sent` and
`is_open` are the same rules in SQL. A click on a prompt whose post is still in flight is
taken too (`bot.surveys.answers`): it proves the prompt landed, so the survey becomes sent.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Survey
from storage.queries.surveys import ANSWERABLE_STATUSES, SENT_STATUSES


def was_sent(survey: Survey) -> bool:
    return survey.status in SENT_STATUSES


def is_open(survey: Survey, now: datetime) -> bool:
    if survey.status not in ANSWERABLE_STATUSES or survey.closed_at is not None:
        return False
    return survey.expires_at is None or now < survey.expires_at
