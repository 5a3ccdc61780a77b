"""Relationship NPS: a periodic survey to each account's decision makers (SPEC §1, §2).

Cycles. A relationship program asks each contact it covers (role in `roles`, not erased, at a
configured account) once per cycle. Cycles are consecutive windows of length `cadence`; the
contact's cycle k starts at

    EPOCH + offset(program, contact) + k * cadence

EPOCH is 2024-01-01T00:00Z and must never change: it would move every contact's cycle. The
offset is a fraction of the cadence taken from a sha256 of (program name, contact id), so it is
the same in every replica and contacts are spread evenly over the cadence (with 90 days and
9,000 decision makers, about 100 cycles start each day, not 9,000 on one). Changing a
program's cadence moves its contacts' cycles: some may be asked sooner than the old cadence.

Which cycle is planned. On every scheduler tick, the cycle containing `now` is planned when it
has no interaction yet and it started
- at or after the contact was created: a new contact waits for its own slot in the cadence;
- within CATCH_UP: after downtime the scheduler catches up on cycles that started meanwhile;
- within FIRST_CYCLE_GRACE when the contact's previous cycle was not planned (the contact's
  first cycle, or the program was just added): enabling a program over an existing contact
  base then rolls out over one cadence instead of asking everybody on the first day.

Planning a cycle creates an interaction of its own (source SOURCE, external_id
"{program}:{contact id}:{k}", kind "relationship", no thread: the question goes to the DM)
and schedules its survey with `intake.schedule`, so opt-out, routes, sampling, duplicates,
cooldown, the weekly cap and the send window apply exactly as to transactional surveys. A
suppressed cycle (e.g. cooldown after a support ticket) is not retried; the next cycle is.
The unique (source, external_id) makes planning idempotent across ticks and replicas.

Cost. A tick reads (id, created_at) of every covered contact and hashes the ids in Python,
then looks up the interactions of the cycles that started within CATCH_UP: milliseconds for
5,000 contacts. Past some 50,000 covered contacts per program, store each contact's next cycle
start in a column so that SQL can select the due contacts by index instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config.schema import ProgramConfig
from bot.core import Core
from bot.surveys import intake
from storage.models import Contact, Interaction
from storage.queries import feedback, privacy, relationship

logger = logging.getLogger(__name__)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SOURCE = "cxbot-relationship"
KIND = "relationship"
CATCH_UP = timedelta(days=14)
FIRST_CYCLE_GRACE = timedelta(days=3)


@dataclass(frozen=True)
class Cycle:
    """Cycle `number` of one contact under one program, starting at `start` (UTC)."""

    program: str
    contact_id: int
    number: int
    start: datetime

    @property
    def external_id(self) -> str:
        return external_id(self.program, self.contact_id, self.number)

    @property
    def previous_external_id(self) -> str:
        return external_id(self.program, self.contact_id, self.number - 1)


def external_id(program: str, contact_id: int, number: int) -> str:
    """The idempotency key of a cycle's interaction (with `source=SOURCE`)."""
    return f"{program}:{contact_id}:{number}"


def cycle_offset(*, program: str, contact_id: int, cadence: timedelta) -> timedelta:
    """Where in the cadence the contact's cycles start, in whole seconds within [0, cadence)."""
    # The same construction as programs.sampled_in (a JSON list, 53 bits of sha256), with a
    # label of its own so that the offset and the sampling decision are independent.
    payload = json.dumps(["relationship-offset", program, str(contact_id)], separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    fraction = (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    return timedelta(seconds=int(fraction * cadence.total_seconds()))


def current_cycle(*, program: ProgramConfig, contact_id: int, now: datetime) -> Cycle:
    """The contact's cycle that contains `now` (it started at or before `now`)."""
    base = EPOCH + cycle_offset(
        program=program.name, contact_id=contact_id, cadence=program.cadence
    )
    number = (now - base) // program.cadence
    return Cycle(program.name, contact_id, number, base + number * program.cadence)


def next_cycle_start(*, program: ProgramConfig, contact_id: int, after: datetime) -> datetime:
    """The start of the contact's first cycle at or after `after`."""
    cycle = current_cycle(program=program, contact_id=contact_id, now=after)
    return cycle.start if cycle.start == after else cycle.start + program.cadence


async def plan_relationship_surveys(core: Core, *, limit: int = 500) -> int:
    """Plan every due relationship cycle, at most `limit` per call (the oldest first; the
    rest next tick). Returns how many cycles this call planned (asked or suppressed)."""
    planned = 0
    for program in core.config.relationship_programs():
        if planned >= limit:
            break
        planned += await _plan_program(core, program, limit=limit - planned)
    return planned


async def _plan_program(core: Core, program: ProgramConfig, *, limit: int) -> int:
    now = core.now()
    planned = 0
    for cycle in await due_cycles(core, program, now=now, limit=limit):
        planned += await _plan_cycle(core, program, cycle, now)
    return planned


async def due_cycles(
    core: Core, program: ProgramConfig, *, now: datetime, limit: int
) -> list[Cycle]:
    """The cycles of `program` to plan at `now`, oldest start first, at most `limit`."""
    async with core.sessions() as session, session.begin():
        covered = await relationship.covered_contacts(
            session=session,
            roles=program.roles,
            account_keys=[account.key for account in core.config.accounts],
            created_by=now,
        )
        candidates = _candidates(program, covered, now)
        existing = await relationship.existing_external_ids(
            session=session,
            source=SOURCE,
            external_ids=[
                key for c in candidates for key in (c.external_id, c.previous_external_id)
            ],
        )
    due = [cycle for cycle in candidates if _is_due(cycle, existing, now)]
    return sorted(due, key=lambda cycle: (cycle.start, cycle.contact_id))[:limit]


def _candidates(
    program: ProgramConfig, covered: Sequence[tuple[int, datetime]], now: datetime
) -> list[Cycle]:
    """Current cycles that started within CATCH_UP and not before the contact was created."""
    cycles = (current_cycle(program=program, contact_id=cid, now=now) for cid, _ in covered)
    return [
        cycle
        for cycle, (_, created_at) in zip(cycles, covered, strict=True)
        if now - cycle.start <= CATCH_UP and cycle.start >= created_at
    ]


def _is_due(cycle: Cycle, existing: set[str], now: datetime) -> bool:
    if cycle.external_id in existing:
        return False
    return cycle.previous_external_id in existing or now - cycle.start <= FIRST_CYCLE_GRACE


async def _plan_cycle(core: Core, program: ProgramConfig, cycle: Cycle, now: datetime) -> int:
    """Create the cycle's interaction and survey; 0 when another tick or replica did."""
    async with core.sessions() as session, session.begin():
        # Locked like the transactional path locks it, so that this survey and one for an
        # interaction logged at the same moment see each other (duplicate, cooldown).
        contact = await privacy.lock_contact(session=session, contact_id=cycle.contact_id)
        if contact is None or not _covers(program, contact):
            return 0
        interaction, created = await feedback.insert_interaction(
            session=session, values=_interaction_values(program, contact, cycle, now)
        )
        if not created:
            return 0
        assert interaction.id is not None
        await feedback.link_contacts(
            session=session, interaction_id=interaction.id, contact_ids=[cycle.contact_id]
        )
        survey = await intake.schedule(core, session, interaction, contact, program, now)
    logger.info(
        "relationship %s cycle %s for contact %s: %s",
        program.name,
        cycle.number,
        cycle.contact_id,
        survey.reason or survey.status,
    )
    return 1


def _covers(program: ProgramConfig, contact: Contact) -> bool:
    """Re-checked under the lock: the role may have changed, or the contact been erased."""
    return contact.erased_at is None and contact.role in program.roles


def _interaction_values(
    program: ProgramConfig, contact: Contact, cycle: Cycle, now: datetime
) -> dict[str, object]:
    row = Interaction(
        source=SOURCE,
        external_id=cycle.external_id,
        account_key=contact.account_key,
        kind=KIND,
        occurred_at=_occurred_at(program, cycle, now),
        extra={
            "program": program.name,
            "cycle": cycle.number,
            "cycle_start": cycle.start.isoformat(),
        },
        created_at=now,
    )
    return row.model_dump(exclude={"id"})


def _occurred_at(program: ProgramConfig, cycle: Cycle, now: datetime) -> datetime:
    """The cycle start; but `now` when that is longer than `max_age` ago (after downtime):
    the survey service suppresses older interactions as stale, and a relationship survey asks
    about the relationship today, not about an event that has aged. `extra` keeps the start."""
    if program.max_age is not None and now - cycle.start > program.max_age:
        return now
    return cycle.start
