"""Synthetic feedback data, column by column with numpy (seeded, so every run is identical).

Shape, for the default 1,000,000 responses over 500 accounts and 52 weeks:
- account sizes are log-normal (the biggest account has ~8x the mean), and each account has
  its own share of unhappy customers, so figures differ between accounts;
- 20 contacts per account; interactions of six kinds, 90 % owned by one of the account team's
  four members; 1 to 3 surveys per interaction (one per contact), 80 % of them answered, the
  rest expired (or still open when sent in the last 72 hours);
- CES 1-7 on support tickets, CSAT 1-5 on meetings and projects, NPS 0-10 on relationship
  surveys; one answer in five has a comment; detractors of the last four weeks have alerts.

Accounts and question versions are not here: `bot.app.sync.prepare_database` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench._world import MEMBERS, NOW, Params, account_key, member_id, team_of

CONTACTS_PER_ACCOUNT = 20
ANSWER_RATE = 0.8
SURVEYS_PER_INTERACTION = (np.array([1, 2, 3]), np.array([0.55, 0.30, 0.15]))
KINDS = ("support_ticket", "meeting", "onboarding", "implementation", "training", "relationship")
KIND_SHARES = np.array([0.45, 0.25, 0.10, 0.08, 0.05, 0.07])
KIND_METRIC = ("ces", "csat", "csat", "csat", "csat", "nps")
PROGRAM_OF = {"ces": "support-ces", "csat": "delivery-csat", "nps": "relationship-nps"}
# Score distributions of a happy customer base; unhappy answers are uniform over the scale.
SCORES: dict[str, tuple[int, np.ndarray]] = {
    "csat": (1, np.array([0.04, 0.06, 0.12, 0.33, 0.45])),
    "ces": (1, np.array([0.03, 0.04, 0.07, 0.12, 0.20, 0.29, 0.25])),
    "nps": (0, np.array([0.02, 0.01, 0.02, 0.03, 0.04, 0.08, 0.08, 0.14, 0.18, 0.20, 0.20])),
}
DETRACTOR_MAX = {"csat": 2, "ces": 3, "nps": 6}
COMMENTS = np.array(
    [
        "Quick and friendly, thanks!",
        "Took three e-mails to get an answer.",
        "Great onboarding session <3",
        "The invoice was wrong again & nobody called back.",
        "Solved in minutes.",
        "Still waiting for the fix.",
        "Anna explained everything clearly.",
        "Too many hand-offs between teams.",
    ],
    dtype=object,
)
MINUTE_US = 60 * 1_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US


@dataclass(frozen=True)
class Table:
    """Rows of one table as columns: numpy arrays (datetime64[us] for timestamps, NaT for
    NULL; object arrays for text) or one constant for every row."""

    name: str
    rows: int
    columns: dict[str, Any]


def generate(params: Params) -> list[Table]:
    """Contacts, interactions, surveys, responses and alerts, in foreign-key order."""
    rng = np.random.default_rng(params.seed)
    weights = rng.lognormal(0.0, 1.0, params.accounts)
    unhappy = rng.beta(1.2, 8.0, params.accounts)
    surveys_wanted = round(params.responses / ANSWER_RATE)
    interactions = _interactions(rng, params, weights / weights.sum(), surveys_wanted)
    surveys = _surveys(rng, interactions, params.responses)
    responses = _responses(rng, surveys, unhappy)
    return [
        _contacts(params),
        interactions,
        surveys,
        responses,
        _alerts(rng, responses),
    ]


def _keys(accounts: np.ndarray, count: int) -> np.ndarray:
    keys: np.ndarray = np.array([account_key(i) for i in range(count)], dtype=object)
    picked: np.ndarray = keys[accounts]
    return picked


def _none() -> np.ndarray:
    """None as a choice of `np.where` (numpy's types take arrays, not None; same result)."""
    return np.array(None, dtype=object)


def _times(us: np.ndarray) -> np.ndarray:
    return us.astype("datetime64[us]")


def _contacts(params: Params) -> Table:
    count = params.accounts * CONTACTS_PER_ACCOUNT
    ids = np.arange(1, count + 1)
    accounts = (ids - 1) // CONTACTS_PER_ACCOUNT
    user_ids = np.array([f"UC{i:07d}" for i in ids], dtype=object)
    first = (ids - 1) % CONTACTS_PER_ACCOUNT == 0
    start = _now_us() - params.weeks * 7 * DAY_US - 30 * DAY_US
    return Table("contacts", count, {
        "id": ids, "account_key": _keys(accounts, params.accounts), "platform": "slack",
        "platform_user_id": user_ids, "name": np.array([f"Contact {i}" for i in ids], dtype=object),
        "email": np.array([f"c{i}@example.com" for i in ids], dtype=object),
        "role": np.where(first, "decision_maker", "end_user").astype(object),
        "opted_out": False, "created_at": _times(np.full(count, start)),
    })  # fmt: skip


def _now_us() -> int:
    return int(NOW.timestamp() * 1_000_000)


def _interactions(
    rng: np.random.Generator, params: Params, shares: np.ndarray, surveys_wanted: int
) -> Table:
    sizes, size_p = SURVEYS_PER_INTERACTION
    drawn = rng.choice(sizes, size=int(surveys_wanted / 1.5), p=size_p)
    drawn = drawn[: int(np.searchsorted(np.cumsum(drawn), surveys_wanted)) + 1]
    drawn[-1] -= int(drawn.sum()) - surveys_wanted  # exactly `surveys_wanted` in total
    count = len(drawn)
    accounts = rng.choice(params.accounts, size=count, p=shares)
    kinds = rng.choice(len(KINDS), size=count, p=KIND_SHARES)
    # Up to six hours before NOW, so that surveys are sent (and mostly answered) before it.
    end, span = _now_us() - 6 * HOUR_US, params.weeks * 7 * DAY_US - 6 * HOUR_US
    occurred = np.sort(end - rng.integers(0, span, size=count))
    return Table("interactions", count, {
        "id": np.arange(1, count + 1), "source": "bench",
        "external_id": np.char.zfill(np.arange(1, count + 1).astype(str), 9).astype(object),
        "account_key": _keys(accounts, params.accounts),
        "kind": np.array(KINDS, dtype=object)[kinds],
        "occurred_at": _times(occurred), "owner": _owners(rng, accounts, params),
        "platform": "slack", "extra": "{}", "created_at": _times(occurred),
        "_account": accounts, "_kind": kinds, "_surveys": drawn, "_occurred": occurred,
    })  # fmt: skip


def _owners(rng: np.random.Generator, accounts: np.ndarray, params: Params) -> np.ndarray:
    """One of the account team's members, or nobody for one interaction in ten."""
    names = np.array(
        [member_id(team_of(a), m) for a in range(params.accounts) for m in range(MEMBERS)],
        dtype=object,
    )
    owners: np.ndarray = names[accounts * MEMBERS + rng.integers(0, MEMBERS, size=len(accounts))]
    return np.where(rng.random(len(accounts)) < 0.1, _none(), "slack:" + owners)


def _surveys(rng: np.random.Generator, interactions: Table, answered_count: int) -> Table:
    per = interactions.columns["_surveys"]
    parent = np.repeat(np.arange(interactions.rows), per)
    count = len(parent)
    position = np.arange(count) - np.repeat(np.cumsum(per) - per, per)
    accounts = interactions.columns["_account"][parent]
    first_contact = rng.integers(0, CONTACTS_PER_ACCOUNT, size=interactions.rows)[parent]
    contacts = accounts * CONTACTS_PER_ACCOUNT + (first_contact + position) % CONTACTS_PER_ACCOUNT
    metrics = np.array(KIND_METRIC, dtype=object)[interactions.columns["_kind"][parent]]
    sent = interactions.columns["_occurred"][parent] + 15 * MINUTE_US
    sent += rng.integers(0, 2 * HOUR_US, size=count)
    answered = np.zeros(count, dtype=bool)
    answered[rng.choice(count, size=answered_count, replace=False)] = True
    answered_at = np.minimum(sent + rng.exponential(3 * HOUR_US, count).astype(np.int64),
                             _now_us() - 1)  # fmt: skip
    expires = sent + 72 * HOUR_US
    status = np.where(answered, "answered", np.where(expires > _now_us(), "sent", "expired"))
    sent_at = _times(sent)  # one array for three columns: converted once when loading
    return Table("surveys", count, {
        "id": np.arange(1, count + 1), "interaction_id": parent + 1, "contact_id": contacts + 1,
        "account_key": interactions.columns["account_key"][parent],
        "program": np.vectorize(PROGRAM_OF.get, otypes=[object])(metrics), "metric": metrics,
        "question_version": metrics + "-v1", "status": status.astype(object),
        "due_at": sent_at, "enqueued_at": sent_at, "sent_at": sent_at,
        "expires_at": _times(expires),
        "answered_at": np.where(answered, _times(answered_at), np.datetime64("NaT")),
        "closed_at": _closed(status, answered_at, expires),
        "created_at": interactions.columns["created_at"][parent],
        "_answered": answered, "_answered_at": answered_at,
        "_kind": interactions.columns["kind"][parent], "_account": accounts,
    })  # fmt: skip


def _closed(status: np.ndarray, answered_at: np.ndarray, expires: np.ndarray) -> np.ndarray:
    closed = np.where(status == "answered", answered_at, expires)
    return np.where(status == "sent", np.datetime64("NaT"), _times(closed))


def _responses(rng: np.random.Generator, surveys: Table, unhappy: np.ndarray) -> Table:
    picked = np.flatnonzero(surveys.columns["_answered"])
    count = len(picked)
    metrics = surveys.columns["metric"][picked]
    accounts = surveys.columns["_account"][picked]
    scores = _scores(rng, metrics, unhappy[accounts])
    has_comment = rng.random(count) < 0.2
    comments = COMMENTS[rng.integers(0, len(COMMENTS), size=count)]
    contacts = surveys.columns["contact_id"][picked]
    return Table("responses", count, {
        "id": np.arange(1, count + 1), "survey_id": picked + 1,
        "account_key": surveys.columns["account_key"][picked], "contact_id": contacts,
        "metric": metrics, "kind": surveys.columns["_kind"][picked],
        "question_version": metrics + "-v1", "score": scores, "reasons": "[]",
        "comment": np.where(has_comment, comments, _none()), "respondent_platform": "slack",
        "respondent_user_id": _contact_ids(contacts),
        "answered_at": _times(surveys.columns["_answered_at"][picked]), "revision": 1,
    })  # fmt: skip


def _contact_ids(contacts: np.ndarray) -> np.ndarray:
    """The contacts' Slack user ids, as `_contacts` made them ("UC0000042")."""
    return np.char.add("UC", np.char.zfill(contacts.astype(str), 7)).astype(object)


def _scores(rng: np.random.Generator, metrics: np.ndarray, unhappy: np.ndarray) -> np.ndarray:
    """Each metric's happy distribution, replaced by a uniform score at the account's rate."""
    scores = np.zeros(len(metrics), dtype=np.int64)
    for metric, (low, p) in SCORES.items():
        where = np.flatnonzero(metrics == metric)
        happy = low + rng.choice(len(p), size=len(where), p=p)
        uniform = rng.integers(low, low + len(p), size=len(where))
        scores[where] = np.where(rng.random(len(where)) < unhappy[where], uniform, happy)
    return scores


def _alerts(rng: np.random.Generator, responses: Table) -> Table:
    """A detractor alert for each detractor answer of the last 28 days: resolved after a
    week, open or acknowledged before that."""
    cols = responses.columns
    limits = np.vectorize(DETRACTOR_MAX.get, otypes=[np.int64])(cols["metric"])
    opened = cols["answered_at"].astype(np.int64)
    picked = np.flatnonzero((cols["score"] <= limits) & (opened >= _now_us() - 28 * DAY_US))
    opened = opened[picked]
    count = len(picked)
    old = opened < _now_us() - 7 * DAY_US
    status = np.where(old, "resolved", np.where(rng.random(count) < 0.5, "open", "acknowledged"))
    return Table("alerts", count, {
        "id": np.arange(1, count + 1), "kind": "detractor",
        "survey_id": cols["survey_id"][picked], "account_key": cols["account_key"][picked],
        "status": status.astype(object), "opened_at": _times(opened),
        "sla_due_at": _times(opened + 4 * HOUR_US),
        "resolved_at": np.where(old, _times(opened + 2 * DAY_US), np.datetime64("NaT")),
        "outcome": np.where(old, "contacted", _none()),
    })  # fmt: skip


def public_columns(table: Table) -> list[str]:
    """The columns that exist in the database (names with a leading `_` are helpers)."""
    return [name for name in table.columns if not name.startswith("_")]
