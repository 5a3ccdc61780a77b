"""The one way in for chat adapters: every use case and type an adapter may call.

Slack, Teams and the console translate a platform's requests into these calls and render
what they return; they import this module and the kernel (`bot.messages`, `bot.errors`,
`bot.core`, `bot.config`, `bot.domain`, `bot.i18n`) and nothing else of the core, so that a
capability's internals can change without touching an adapter, and a third adapter finds
here everything it has to call (tests/test_architecture.py holds the rule).

Every use case takes the `Caller` (`bot.domain.roles`) and decides itself whether they
may: a refusal is `NotAllowed`, whose message is the caller's private note. No adapter
checks a role (a test holds that too).
"""

from __future__ import annotations

from bot.alerts.workflow import (
    CHOOSABLE_OUTCOMES,
    Outcome,
    acknowledge,
    alert_card,
    alert_locale,
    assign,
    resolve,
    start_resolving,
)
from bot.commands.base import Invocation, Reply, split_verb, to_place
from bot.commands.report import run_for_file as report_for_file
from bot.commands.router import caller_locale
from bot.commands.router import run as run_command
from bot.delivery.conversations import personal_reference, roster_references, tenant_reference
from bot.delivery.conversations import reference_of as conversation_reference
from bot.delivery.conversations import remember as remember_conversation
from bot.delivery.outbox import post_report as queue_report
from bot.delivery.redelivery import joined_channel
from bot.interfaces.inbound import first_delivery, was_delivered
from bot.surveys.answers import answered_survey, record_answer, record_reasons
from bot.surveys.from_chat import CustomerMessage, ask_about_message

__all__ = [
    "CHOOSABLE_OUTCOMES",
    "CustomerMessage",
    "Invocation",
    "Outcome",
    "Reply",
    "acknowledge",
    "alert_card",
    "alert_locale",
    "answered_survey",
    "ask_about_message",
    "assign",
    "caller_locale",
    "conversation_reference",
    "first_delivery",
    "joined_channel",
    "personal_reference",
    "queue_report",
    "record_answer",
    "record_reasons",
    "remember_conversation",
    "report_for_file",
    "resolve",
    "roster_references",
    "run_command",
    "split_verb",
    "start_resolving",
    "tenant_reference",
    "to_place",
    "was_delivered",
]
