"""The rules every platform's commands share, decided in `bot.commands` and not in an
adapter: who a command is about (the first mention), which mentions the platform must place,
that a report is seen by its caller alone, and who may have its CSV file."""

from __future__ import annotations

import pytest

from bot.commands import router
from bot.commands.base import Invocation, Reply, kept_private, to_place
from bot.commands.report import run_for_file
from bot.config.types import ChannelRef, PersonRef
from bot.domain.roles import Caller
from bot.errors import NotAllowed
from bot.i18n import report_texts, texts
from bot.messages import ReportMessage, TextMessage
from storage.engine import Sessions
from tests.support.world import CUSTOMER, World, staff

SHARED = ChannelRef(platform="slack", channel_id="CSHARED")
LEAD = staff("ULEAD")


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions).start()


def test_the_first_mention_is_the_contact() -> None:
    command = Invocation(caller=LEAD, text="log meeting", channel=None, mentions=("U1", "U2"))
    assert command.contact == "U1"
    assert Invocation(caller=LEAD, text="log meeting", channel=None).contact is None


def test_only_logs_contact_needs_placing() -> None:
    assert to_place("log meeting <@U1> <@U2> note", ("U1", "U2")) == ("U1",)
    assert to_place("  LOG meeting", ("U1",)) == ("U1",)
    assert to_place("report acme", ("U1",)) == ()
    assert to_place("", ()) == ()


def _report() -> ReportMessage:
    return ReportMessage(title="Report", locale="fi", columns=(), rows=())


def test_a_report_asked_where_others_would_see_it_goes_to_the_callers_direct_chat() -> None:
    asked = Invocation(caller=LEAD, text="report", channel=SHARED, locale="fi", private_here=False)
    moved = kept_private(Reply(_report(), csv="a,b"), asked)
    assert moved.in_direct_chat and moved.csv == "a,b"
    assert moved.notice is not None
    assert moved.notice.text == texts.t("report_sent_privately", "fi")


def test_a_report_stays_where_only_the_caller_sees_it_and_text_always_does() -> None:
    private = Invocation(caller=LEAD, text="report", channel=SHARED)
    public = Invocation(caller=LEAD, text="help", channel=SHARED, private_here=False)
    assert not kept_private(Reply(_report()), private).in_direct_chat
    assert not kept_private(Reply(TextMessage(text="help")), public).in_direct_chat


async def test_a_report_in_a_shared_conversation_is_kept_private_by_the_router(
    world: World,
) -> None:
    asked = Invocation(caller=LEAD, text="report", channel=SHARED, private_here=False)
    reply = await router.run(world.core, asked)
    assert isinstance(reply.message, ReportMessage) and reply.in_direct_chat


async def test_a_caller_the_platform_could_not_place_is_asked_to_try_again(
    world: World,
) -> None:
    unplaced = Caller(person=LEAD.person, external=True, unverified=True)
    for text in ("report", "optout", "help"):
        reply = await router.run(world.core, Invocation(caller=unplaced, text=text, channel=None))
        assert isinstance(reply.message, TextMessage) and reply.csv is None
        assert reply.message.text == texts.t("try_again", "en")


async def test_a_contact_the_platform_could_not_place_is_not_logged(world: World) -> None:
    log = Invocation(
        caller=LEAD, text="log meeting <@UCUST>", channel=SHARED, mentions=("UCUST",),
        customers=None, locale="fi",
    )  # fmt: skip
    reply = await router.run(world.core, log)
    assert isinstance(reply.message, TextMessage) and reply.csv is None
    assert reply.message.text == texts.t("try_again", "fi")


async def test_a_reports_file_is_for_its_asker_only(world: World) -> None:
    asker = PersonRef(platform="slack", user_id="ULEAD")
    for someone in (CUSTOMER, staff("UAM")):
        with pytest.raises(NotAllowed) as refused:
            await run_for_file(
                world.core, caller=someone, asked_by=asker, args="--csv", locale="fi"
            )
        assert str(refused.value) == report_texts.text("csv_not_yours", "fi")
    reply = await run_for_file(world.core, caller=LEAD, asked_by=asker, args="--csv", locale="fi")
    assert isinstance(reply.message, ReportMessage) and reply.csv is not None
