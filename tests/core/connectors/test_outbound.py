"""Outbound webhooks through the delivery queue to a receiver on an ephemeral port
(tests/fakes/webhook_receiver.py): each event signed as README documents, in order per
subject, retried after a failure and stored once per idempotency key."""

from __future__ import annotations

import copy
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.webhooks.adapter import WebhookAdapter
from bot.config.schema import parse_config
from bot.delivery.redelivery import PROBE_EVERY
from bot.insights import digests
from bot.surveys import answers, intake
from storage.engine import Sessions
from storage.models import Delivery
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.world import CONFIG, CUSTOMER, World, interaction

SECRET = "crm-webhook-secret-42"


@dataclass
class Outbound:
    world: World
    receiver: WebhookReceiver

    async def answered(self, score: int, external_id: str = "T-1") -> int:
        """A ticket logged, its question posted, and the customer's answer: the survey id."""
        item = interaction(external_id, occurred_at=self.world.clock())
        [logged] = await intake.log_interactions(self.world.core, [item])
        await self.world.advance(timedelta(minutes=15))
        survey_id = logged.surveys[0].survey_id
        await answers.record_answer(
            self.world.core, survey_id=survey_id, score=score, respondent=CUSTOMER
        )
        return survey_id

    async def deliveries(self, purpose: str) -> list[Delivery]:
        async with self.world.sessions() as session:
            found = await session.exec(select(Delivery).where(Delivery.purpose == purpose))
            return list(found.all())


def outbound_config(url: str, **hook: Any) -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["webhooks"] = [{"name": "crm", "url": url, "secret_env": "CRM_WEBHOOK_SECRET", **hook}]
    return config


@asynccontextmanager
async def serve(
    sessions: Sessions, receiver: WebhookReceiver, url: str, **hook: Any
) -> AsyncIterator[Outbound]:
    world = World(sessions=sessions, config=parse_config(outbound_config(url, **hook)))
    await world.start()
    adapter = WebhookAdapter(
        endpoints=world.config.webhooks, secrets={"CRM_WEBHOOK_SECRET": SECRET}, timeout=0.5
    )
    world.adapters = {"slack": world.adapter, "webhook": adapter}
    try:
        yield Outbound(world=world, receiver=receiver)
    finally:
        await adapter.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=SECRET)
    await receiver.start()
    yield receiver
    await receiver.close()


@pytest.fixture
async def out(sessions: Sessions, receiver: WebhookReceiver) -> AsyncIterator[Outbound]:
    async with serve(sessions, receiver, receiver.url) as found:
        yield found


async def test_an_answer_tells_the_crm_signed_with_its_idempotency_key(out: Outbound) -> None:
    survey_id = await out.answered(2)  # CES 2: a detractor, so an alert opens too
    await out.world.run()
    assert sorted(out.receiver.events()) == [
        ("alert.opened", "alert:1"),
        ("response.created", f"survey:{survey_id}"),
    ]
    for attempt in out.receiver.attempts:
        assert attempt.signed and attempt.status == 200
        assert attempt.headers["Idempotency-Key"] == attempt.body["id"]
        assert attempt.headers["X-Cxbot-Event"] == attempt.body["type"]
    created = out.receiver.stored[f"response.created:survey:{survey_id}:created"]
    assert created["occurred_at"] == out.world.clock().isoformat()
    data = created["data"]
    assert (data["account"], data["metric"], data["score"], data["revision"]) == (
        "acme", "ces", 2, 1,
    )  # fmt: skip
    assert data["interaction"] == {
        "source": "zendesk", "external_id": "T-1", "kind": "support_ticket",
    }  # fmt: skip
    opened = out.receiver.stored["alert.opened:alert:1:e1"]["data"]
    assert (opened["status"], opened["survey_id"], opened["reopened"]) == ("open", survey_id, False)


async def test_a_500_is_retried_and_the_event_is_stored_once(out: Outbound) -> None:
    # The receiver stores the event and then fails: cxbot cannot know, and sends it again.
    out.receiver.add_response(500, store=True, event="response.created")
    survey_id = await out.answered(6)
    await out.world.run()
    key = f"response.created:survey:{survey_id}:created"
    assert out.receiver.tries(key) == [500]
    [pending] = await out.deliveries("webhook_response")
    assert (pending.status, pending.attempts) == ("pending", 1)
    await out.world.advance(timedelta(seconds=3))  # past the first backoff (2 s ± 10 %)
    assert out.receiver.tries(key) == [500, 200]
    assert [a.signed for a in out.receiver.attempts if a.key == key] == [True, True]
    assert [k for k in out.receiver.stored if k.startswith("response.created")] == [key]
    [done] = await out.deliveries("webhook_response")
    assert done.status == "done"


async def test_a_timeout_is_sent_again_and_the_key_tells_it_apart(out: Outbound) -> None:
    """A call that outlasts its timeout may have been stored: at least once, never lost."""
    out.receiver.add_response(200, delay=1.5, event="response.created")  # > the 0.5 s timeout
    survey_id = await out.answered(6)
    await out.world.run()
    await out.world.advance(timedelta(seconds=3))
    key = f"response.created:survey:{survey_id}:created"
    assert out.receiver.tries(key) == [200, 200]
    assert list(out.receiver.stored).count(key) == 1


async def test_events_about_one_alert_arrive_in_order_across_a_retry(out: Outbound) -> None:
    out.receiver.add_response(503, event="alert.opened")
    survey_id = await out.answered(2)
    await out.world.run()
    # The customer thinks again: the alert closes before its opening reached the CRM.
    await answers.record_answer(out.world.core, survey_id=survey_id, score=6, respondent=CUSTOMER)
    await out.world.run()
    assert ("alert.resolved", "alert:1") not in out.receiver.events()
    await out.world.advance(timedelta(seconds=3))
    alert_events = [e for e, subject in out.receiver.events() if subject == "alert:1"]
    assert alert_events == ["alert.opened", "alert.resolved"]
    resolved = out.receiver.stored["alert.resolved:alert:1:e3"]["data"]
    assert (resolved["status"], resolved["outcome"]) == ("resolved", "score_changed")
    changed = [k for k in out.receiver.stored if k.startswith("response.changed")]
    assert changed == [f"response.changed:survey:{survey_id}:r2"]


async def test_reasons_and_a_comment_are_a_change_of_the_response(out: Outbound) -> None:
    survey_id = await out.answered(6)
    await answers.record_reasons(
        out.world.core,
        survey_id=survey_id,
        respondent=CUSTOMER,
        reasons=["speed"],
        comment="Quick and kind",
    )
    await out.world.run()
    changed = out.receiver.stored[f"response.changed:survey:{survey_id}:why1"]["data"]
    assert (changed["reasons"], changed["comment"]) == (["speed"], "Quick and kind")


async def test_a_429_waits_its_retry_after_and_is_not_counted(out: Outbound) -> None:
    out.receiver.add_response(429, headers={"Retry-After": "7"}, event="response.created")
    survey_id = await out.answered(6)
    await out.world.run()
    key = f"response.created:survey:{survey_id}:created"
    [waiting] = await out.deliveries("webhook_response")
    assert waiting.attempts == 0 and "rate limited" in (waiting.last_error or "")
    await out.world.advance(timedelta(seconds=5))
    assert out.receiver.tries(key) == [429]
    await out.world.advance(timedelta(seconds=3))
    assert out.receiver.tries(key) == [429, 200]


async def test_a_receiver_refusing_the_event_gives_it_up(out: Outbound) -> None:
    out.receiver.add_response(422, event="response.created")
    survey_id = await out.answered(6)
    await out.world.run()
    await out.world.advance(timedelta(hours=1))
    assert out.receiver.tries(f"response.created:survey:{survey_id}:created") == [422]
    [failed] = await out.deliveries("webhook_response")
    assert failed.status == "failed" and "permanent" in (failed.last_error or "")


async def test_a_refused_signature_holds_the_endpoint_until_it_works(out: Outbound) -> None:
    out.receiver.add_response(401, event="response.created")
    survey_id = await out.answered(6)
    await out.world.run()
    [held] = await out.deliveries("webhook_response")
    assert (held.status, held.held_by) == ("held", "workspace:webhook:crm")
    # The next event for that endpoint waits with it, without a call of its own.
    await answers.record_answer(out.world.core, survey_id=survey_id, score=7, respondent=CUSTOMER)
    await out.world.run()
    assert len(out.receiver.attempts) == 1
    await out.world.advance(PROBE_EVERY + timedelta(seconds=1))
    await out.world.run()
    assert sorted(k.rsplit(":", 1)[-1] for k in out.receiver.stored) == ["created", "r2"]


async def test_a_refused_connection_is_retried_as_nothing_sent(
    sessions: Sessions, receiver: WebhookReceiver
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks"
    async with serve(sessions, receiver, closed) as out:
        await out.answered(6)
        await out.world.run()
        [pending] = await out.deliveries("webhook_response")
        assert (pending.status, pending.attempts, pending.in_doubt_since) == ("pending", 1, None)
        assert "ClientConnectorError" in (pending.last_error or "")


async def test_an_endpoint_hears_only_the_events_it_asks_for(
    sessions: Sessions, receiver: WebhookReceiver
) -> None:
    async with serve(sessions, receiver, receiver.url, events=["alert.opened"]) as out:
        await out.answered(2)
        await out.world.run()
        assert out.receiver.events() == [("alert.opened", "alert:1")]


async def test_a_posted_digest_tells_the_crm_its_figures(out: Outbound) -> None:
    out.world.clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=UTC))  # Monday 09:00 in Helsinki
    assert await digests.post_due_digests(out.world.core) == 1
    await out.world.run()  # the digest lands in Slack, then its event goes out
    await out.world.run()
    [(event, subject)] = out.receiver.events()
    assert (event, subject) == ("digest.posted", "digest:CTEAM")
    data = out.receiver.stored["digest.posted:digest:slack:CTEAM:2026-W46"]["data"]
    assert (data["period"], data["accounts"]) == ("2026-W46", ["acme"])
    assert data["rows"][0]["label"] == "Acme Oy"
