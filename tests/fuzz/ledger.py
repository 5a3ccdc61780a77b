"""What the HTTP API answered versus what the database holds: after every fuzzed request,
an accepted body is stored exactly as answered, and a refused one changed nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import func, select

from bot.surveys.schemas import InteractionCreate
from storage.engine import Sessions
from storage.models import Interaction, Survey
from tests.fuzz.live import LiveApp


async def count_interactions(sessions: Sessions) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Interaction))).one())


def interactions_in(body: Any) -> tuple[list[Any], bool]:
    """The interactions of a request body as the API reads it, and whether it is a batch."""
    if isinstance(body, list):
        return body, True
    if isinstance(body, dict) and "interactions" in body:
        return body["interactions"], True
    return [body], False


async def check_stored(
    sessions: Sessions, items: list[InteractionCreate], results: list[dict[str, Any]]
) -> None:
    async with sessions() as session:
        for item, result in zip(items, results, strict=True):
            row = await session.get(Interaction, result["interaction_id"])
            assert row is not None, result
            assert (row.source, row.external_id) == (item.source, item.external_id)
            if result["created"]:
                stored = (row.account_key, row.kind, row.occurred_at, row.note, row.extra)
                sent = (item.account, item.kind, item.occurred_at, item.note, item.metadata)
                assert stored == sent
            for answered in result["surveys"]:
                survey = await session.get(Survey, answered["survey_id"])
                assert survey is not None, answered
                assert survey.interaction_id == row.id
                assert (survey.contact_id, survey.status) == (
                    answered["contact_id"],
                    answered["status"],
                )


@dataclass
class Ledger:
    """Checks each exchange against the database and counts them."""

    live: LiveApp
    sessions: Sessions
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    created: int = 0
    rows: int = 0  # interactions stored after the last request (the database starts empty)

    def check(self, body: Any, status: int, answer: Any) -> None:
        """`body` (parsed JSON, or None when it was not JSON) got `status` and `answer`.
        Requests are sent one at a time, so the rows before are the rows after the last."""
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        assert status < 500, f"{status} for {body!r:.2000}"
        before, after = self.rows, self.live.run(count_interactions(self.sessions))
        self.rows = after
        if status not in (200, 201):
            assert after == before, f"a refused request ({status}) wrote {after - before} rows"
            return
        assert isinstance(answer, dict), f"{status} for {body!r:.2000}: {answer!r:.2000}"
        raw_items, batch = interactions_in(body)
        results = answer["results"] if batch else [answer]
        items = [InteractionCreate.model_validate(item) for item in raw_items]
        self.live.run(check_stored(self.sessions, items, results))
        created = sum(1 for r in results if r["created"])
        assert after - before == created
        assert status == (201 if not batch and created else 200)
        if batch:
            assert (answer["created"], answer["existing"]) == (created, len(results) - created)
        self.created += created
