"""Fuzz `POST /api/v1/webhooks/{source}`: never a 5xx, every answer one the OpenAPI
document lists, and nothing written unless the answer says an interaction was logged.

Each source's documented payload (tests/payloads/webhooks) is mutated and then signed as
its vendor signs (tests/fakes/webhook_signing.py), so that the mutation reaches the
mapping behind the signature check: a vendor signs whatever it sends. Besides: raw tokens
no encoder writes, spliced into signed bodies; headers that are junk; sources that are not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import pytest
import requests
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from storage.engine import create_engine, session_factory
from storage.models import Interaction
from tests.core.connectors.conftest import SECRETS, connectors_config
from tests.fakes import webhook_signing as vendor
from tests.fuzz.hostile_json import RAW_TOKENS
from tests.fuzz.live import LiveApp, serve
from tests.fuzz.strategies import HOSTILE_STRINGS, fuzz_settings, mutated, vocabulary, walk
from tests.support.world import World

logger = logging.getLogger(__name__)
EXAMPLES = 250
DOCUMENTED = {200, 201, 400, 401, 404, 422}
FIXTURES = {
    "zendesk": ["zendesk_ticket_solved", "zendesk_event_status_changed"],
    "freshdesk": ["freshdesk_ticket_resolved"],
    "hubspot": ["hubspot_ticket_closed", "hubspot_webhooks_api_batch"],
    "jira": ["jira_issue_resolved"],
    "intercom": ["intercom_conversation_closed"],
    "mycrm": ["generic_meeting_ended"],
}
DOCUMENTS = {name: vendor.load(name) for names in FIXTURES.values() for name in names}
KEYS, VALUES = vocabulary(list(DOCUMENTS.values()))
# Header values requests can send (latin-1), hostile ones included.
HEADER_TEXT = st.one_of(
    st.sampled_from([s for s in HOSTILE_STRINGS if s.isascii() and "\x00" not in s]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)


@dataclass
class Target:
    live: LiveApp
    world: World
    statuses: dict[int, int] = field(default_factory=dict)

    def sign(self, source: str, body: bytes) -> dict[str, str]:
        signers: dict[str, Callable[[], dict[str, str]]] = {
            "zendesk": lambda: vendor.zendesk(body, secret=SECRETS["ZENDESK_WEBHOOK_SECRET"]),
            "freshdesk": lambda: vendor.basic("cxbot", SECRETS["FRESHDESK_WEBHOOK_SECRET"]),
            "hubspot": lambda: vendor.hubspot(
                body,
                secret=SECRETS["HUBSPOT_CLIENT_SECRET"],
                uri=f"{self.live.base_url}/api/v1/webhooks/hubspot",
                timestamp_ms=int(self.world.clock().timestamp() * 1000),
            ),
            "jira": lambda: vendor.jira(body, secret=SECRETS["JIRA_WEBHOOK_SECRET"]),
            "intercom": lambda: vendor.intercom(body, secret=SECRETS["INTERCOM_CLIENT_SECRET"]),
            "mycrm": lambda: vendor.hex_hmac(
                body,
                secret=SECRETS["MYCRM_WEBHOOK_SECRET"],
                header="X-MyCRM-Signature",
                prefix="sha256=",
            ),
        }
        return signers[source]()

    def interactions(self) -> int:
        async def count() -> int:
            async with self.world.sessions() as session:
                found = await session.exec(select(func.count()).select_from(Interaction))
                return int(found.one())

        return self.live.run(count())

    def send(self, source: str, body: bytes, headers: dict[str, str]) -> int:
        before = self.interactions()
        url = f"{self.live.base_url}/api/v1/webhooks/{source}"
        response = requests.post(url, data=body, headers=headers, timeout=60)
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        assert status in DOCUMENTED, f"{status} {response.text[:500]} for {body[:2000]!r}"
        if status == 404 and "json" not in response.headers.get("Content-Type", ""):
            # aiohttp's own answer: the path (`.`, `..`, a bad escape) named no route at all.
            return status
        answer = response.json()
        written = self.interactions() - before
        if status == 201:
            assert answer["created"] is True and written == 1
        else:
            assert written == 0, f"{status} {answer} wrote {written} for {body[:2000]!r}"
            assert status != 200 or "ignored" in answer or answer["created"] is False
        return status


@pytest.fixture
def target(database_url: str) -> Iterator[Target]:
    async def setup(stack: AsyncExitStack) -> tuple[web.Application, World]:
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        world = World(sessions=session_factory(engine), config=parse_config(connectors_config()))
        await world.start()
        app = build_app(
            Runtime(core=world.core, adapters={}), api_token="t", background=False, secrets=SECRETS
        )
        return app, world

    with serve(setup) as (live, world):
        yield Target(live=live, world=world)


@st.composite
def signed_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    source = draw(st.sampled_from(sorted(FIXTURES)))
    document = draw(mutated(DOCUMENTS[draw(st.sampled_from(FIXTURES[source]))], KEYS, VALUES))
    return source, json.dumps(document, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def signed_tokens(draw: st.DrawFn) -> tuple[str, bytes]:
    """A documented payload with a raw token (`1e400`, `NaN`, `"\\u0000"`) at one place."""
    source = draw(st.sampled_from(sorted(FIXTURES)))
    document = json.loads(json.dumps(DOCUMENTS[FIXTURES[source][0]]))
    paths = [p for p, node in walk(document) if p and not isinstance(node, dict | list)]
    path = draw(st.sampled_from(paths))
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "@@token@@"
    text = json.dumps(document).replace('"@@token@@"', draw(st.sampled_from(RAW_TOKENS)))
    return source, text.encode()


def test_fuzz_the_webhooks(target: Target) -> None:
    @fuzz_settings(EXAMPLES)
    @given(request=st.one_of(signed_mutations(), signed_tokens()))
    def signed(request: tuple[str, bytes]) -> None:
        source, body = request
        target.send(source, body, target.sign(source, body))

    @fuzz_settings(EXAMPLES // 5)
    @given(
        source=st.sampled_from(sorted(FIXTURES)),
        names=st.lists(
            st.sampled_from(
                [
                    "X-Zendesk-Webhook-Signature",
                    "X-Zendesk-Webhook-Signature-Timestamp",
                    "X-HubSpot-Signature-v3",
                    "X-HubSpot-Request-Timestamp",
                    "X-Hub-Signature",
                    "Authorization",
                    "X-MyCRM-Signature",
                ]
            ),
            max_size=3,
        ),
        values=st.lists(HEADER_TEXT, min_size=3, max_size=3),
    )
    def junk_headers(source: str, names: list[str], values: list[str]) -> None:
        body = vendor.body_of(DOCUMENTS[FIXTURES[source][0]])
        headers = {name: values[n].strip() for n, name in enumerate(names)}  # as sendable
        assert target.send(source, body, headers) == 401

    @fuzz_settings(EXAMPLES // 5)
    @given(source=st.text(alphabet="abcxyz-_.%0", min_size=1, max_size=30))
    def sources(source: str) -> None:
        target.send(source, b"{}", {"Content-Type": "application/json"})

    signed()
    junk_headers()
    sources()
    logger.info("webhooks: %s", target.statuses)
    # The mutations reached past the signature: some were logged, some refused for a field.
    assert target.statuses.get(201, 0) > 0 and target.statuses.get(400, 0) > 0
    assert target.statuses.get(401, 0) > 0 and target.statuses.get(404, 0) > 0
