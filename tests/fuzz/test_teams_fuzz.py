"""Fuzz `POST /api/messages` (Teams development mode, against the fake connector) with
arbitrary activities: mutations of the real payload files, card actions with hostile data,
@mention commands, and arbitrary JSON. Every answer must be < 500."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import requests
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.teams.adapter import MESSAGES_PATH
from tests.adapters.teams.conftest import GUEST_AAD, STAFF_AAD, STAFF_ID
from tests.fuzz.conftest import Served
from tests.fuzz.strategies import (
    HOSTILE_STRINGS,
    TYPED,
    fuzz_settings,
    json_values,
    load,
    mutated,
    payload_names,
    point_urls_at,
    vocabulary,
)

logger = logging.getLogger(__name__)
EXAMPLES = 200
DOCUMENTS = {name: load("teams", name) for name in payload_names("teams")}
KEYS, VALUES = vocabulary(list(DOCUMENTS.values()))
# Survey 1 and alert 1 exist (tests/fuzz/conftest.py): most clicks name them.
IDS = st.sampled_from([1, 1, 1, 1, 0, -1, 2, 2**31, 2**63, "1", None, 1.5, True, [1], {"id": 1}])
TEXTS = st.one_of(TYPED, st.integers())
VERBS = ["score", "why", "ack", "assign", "resolve"]
CARD_DATA = st.fixed_dictionaries(
    {"cx": st.sampled_from([*VERBS, *VERBS, "", "x", 1, None])},
    optional={
        "survey_id": IDS,
        "alert_id": IDS,
        "score": IDS,
        "reasons": st.sampled_from(["speed", "speed,price", ",,", "x" * 500, 1]) | TEXTS,
        "comment": TEXTS,
        "note": TEXTS,
        "assignee": st.sampled_from([GUEST_AAD, STAFF_AAD, STAFF_ID, "29:", "nobody"]) | TEXTS,
        "outcome": st.sampled_from(["fixed", "contacted", "no_action", "?"]) | TEXTS,
        "notify": st.sampled_from(["true", "false", True, "yes"]) | TEXTS,
    },
)
COMMAND_WORDS = st.sampled_from(
    [
        *("report", "log", "optout", "optin", "help", "acme", "nordic", "--days", "30"),
        *("support_ticket", "meeting", "<at>Liisa</at>", "<at>cxbot</at>", "x" * 3000),
    ]
) | st.sampled_from(HOSTILE_STRINGS)
Activity = dict[str, Any] | Any


def _fresh(draw: st.DrawFn, document: Activity, url: str) -> Activity:
    """Every URL on the fake connector, and (mostly) a new id, as each real activity has.

    `serviceUrl` is set even where a mutation dropped it: without one, botbuilder replies to
    api.botframework.com, and a fuzzer must never make the bot call out."""
    document = point_urls_at(document, url)
    if isinstance(document, dict):
        document["serviceUrl"] = url
        if draw(st.integers(0, 3)):
            document["id"] = f"f:{draw(st.uuids())}"
    return document


@st.composite
def mutations(draw: st.DrawFn, url: str) -> Activity:
    document = draw(mutated(DOCUMENTS[draw(st.sampled_from(sorted(DOCUMENTS)))], KEYS, VALUES))
    return _fresh(draw, document, url)


@st.composite
def card_actions(draw: st.DrawFn, url: str) -> Activity:
    data = draw(CARD_DATA)
    if draw(st.booleans()):
        document = load("teams", "invoke_adaptive_card_action")
        action = {
            "type": "Action.Execute",
            "verb": draw(st.sampled_from(["cx", "x"])),
            "data": data,
        }
        document["value"] = {"action": action, "trigger": "manual"}
    else:
        document = {**load("teams", "message_submit_fallback"), "value": data}
    if draw(st.booleans()):
        document["from"] = {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}
    return _fresh(draw, document, url)


@st.composite
def commands(draw: st.DrawFn, url: str) -> Activity:
    name = draw(st.sampled_from(["message_mention_report", "message_personal_help"]))
    document = load("teams", name)
    document["text"] = "<at>cxbot</at> " + " ".join(draw(st.lists(COMMAND_WORDS, max_size=5)))
    if draw(st.booleans()):
        document = draw(mutated(document, KEYS, VALUES, max_mutations=2))
    return _fresh(draw, document, url)


@st.composite
def anything(draw: st.DrawFn, url: str) -> Activity:
    value = draw(json_values(KEYS, VALUES))
    if isinstance(value, dict) and draw(st.booleans()):  # past the adapter's first checks
        value.update(type=draw(st.sampled_from(["message", "invoke", "event", "x"])))
        value.update({"conversation": {"id": "a:1"}, "from": {"id": "29:1"}})
    return _fresh(draw, value, url)


def activities(url: str) -> st.SearchStrategy[Activity]:
    return st.one_of(mutations(url), card_actions(url), commands(url), anything(url))


def _card_action(url: str, data: dict[str, Any], **changes: Any) -> Activity:
    document = {**load("teams", "invoke_adaptive_card_action"), "serviceUrl": url, **changes}
    document["id"] = f"regression:{data}"
    document["value"] = {"action": {"type": "Action.Execute", "verb": "cx", "data": data}}
    return point_urls_at(document, url)


def _changed(name: str, url: str, path: tuple[str, ...], value: Any) -> Activity:
    document = {**load("teams", name), "serviceUrl": url, "id": f"regression:{path}:{value!r}"}
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return point_urls_at(document, url)


def regressions(url: str) -> list[Activity]:
    """Activities that answered 500 (or 501) once: each one is sent on every run."""
    staff = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}
    message = "message_submit_fallback"
    ask = "invoke_message_extension_action"
    return [
        _changed(message, url, ("value",), {"cx": "?"}) | {"conversation": {"id": None}},
        _changed(message, url, ("conversation", "id"), "a:" + "x" * 500),  # PostgreSQL
        _changed(message, url, ("conversation", "conversationType"), "Liisa Asiakas (Guest)"),
        _changed(message, url, ("channelData", "tenant", "id"), "x" * 100),
        _changed(message, url, ("from", "aadObjectId"), "x" * 300),
        _changed("message_mention_report", url, ("entities",), [None]),
        _changed(ask, url, ("value", "messagePayload", "from"), ["x"]),
        _changed(ask, url, ("value", "messagePayload", "from", "user", "id"), "not an id"),
        _changed(ask, url, ("name",), "composeExtension/unknown"),
        _card_action(url, {"cx": "why", "survey_id": 1, "comment": "a\u0000b"}),
        _card_action(
            url,
            {"cx": "resolve", "alert_id": 1, "outcome": "contacted", "note": "a\u0000b"},
            **staff,
        ),
    ]


def test_fuzz_teams_with_arbitrary_activities(teams_app: Served) -> None:
    http = requests.Session()
    statuses: dict[int, int] = {}
    started = time.monotonic()

    examples = teams_app.examples(EXAMPLES)

    @fuzz_settings(examples)
    @given(activity=activities(teams_app.fake_url))
    def fuzz(activity: Activity) -> None:
        body = json.dumps(activity)
        url = f"{teams_app.live.base_url}{MESSAGES_PATH}"
        headers = {"Content-Type": "application/json"}
        response = http.post(url, data=body.encode(), headers=headers, timeout=60)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{response.status_code} for {body[:3000]}"

    for activity in regressions(teams_app.fake_url):
        fuzz = example(activity=activity)(fuzz)
    fuzz()
    elapsed = time.monotonic() - started
    logger.info("Teams: %s requests in %.1f s, %s", sum(statuses.values()), elapsed, statuses)
    assert sum(statuses.values()) >= examples
    assert requests.get(f"{teams_app.live.base_url}/healthz", timeout=10).status_code == 200
