"""Renders the neutral messages as plain text and writes them to a stream."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import ClassVar, TextIO

from aiohttp import web

from bot.i18n import texts
from bot.messages import (
    AlertCard,
    DigestMessage,
    Message,
    MessageRef,
    ReportMessage,
    ReportRow,
    SurveyClosedNotice,
    SurveyPrompt,
    Target,
    TextMessage,
    ThankYou,
)


def render(message: Message) -> str:
    """One message as console text (pure)."""
    match message:
        case SurveyPrompt():
            scale = " ".join(f"[{b.score}]" for b in message.buttons)
            mention = f"@{message.mention_user_id} " if message.mention_user_id else ""
            lead = texts.t("reminder", message.locale) + " " if message.reminder else ""
            ends = f"{message.low_label} {scale} {message.high_label}"
            return f"{lead}{mention}{message.question}\n  {ends}"
        case ThankYou() if message.reasons_saved:
            return texts.t("reasons_saved", message.locale)
        case ThankYou():
            return (
                f"{texts.t('thank_you', message.locale)} ({message.score}) — {message.why_prompt}"
            )
        case SurveyClosedNotice():
            return texts.t("survey_closed", message.locale)
        case AlertCard():
            comment = f' "{message.comment}"' if message.comment else ""
            return (
                f"[{message.status}] {message.account_name}: {message.contact_name} gave "
                f"{message.metric.upper()} {message.score}/{message.scale_max} after "
                f"{message.interaction}{comment}"
            )
        case ReportMessage():
            lines = [message.title, " | ".join(("", *message.columns))]
            lines += [
                " | ".join((r.label, *(r.values.get(c, "") for c in message.columns)))
                for r in message.rows
            ]
            return "\n".join(lines)
        case DigestMessage():
            return _table(f"{message.title} ({message.period})", message.columns, message.rows)
        case TextMessage():
            return message.text
    raise TypeError(f"cannot render {type(message).__name__}")


def _table(title: str, columns: tuple[str, ...], rows: tuple[ReportRow, ...]) -> str:
    lines = [title, " | ".join(("", *columns))]
    lines += [" | ".join((r.label, *(r.values.get(c, "") for c in columns))) for r in rows]
    return "\n".join(lines)


@dataclass
class ConsoleAdapter:
    """Posts are lines on `stream`; at most `limit` messages are written (the rest are
    counted in `skipped`), so a long demo stays readable."""

    stream: TextIO
    limit: int | None = None
    platform: ClassVar[str] = "console"
    written: int = 0
    skipped: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def mount(self, app: web.Application) -> None:
        """No webhook: console answers come from the demo itself."""

    async def post(self, target: Target, message: Message) -> MessageRef:
        where = target.channel_id or f"DM {target.user_id}"
        ref = MessageRef(
            platform=self.platform,
            channel_id=where,
            message_id=str(next(self._ids)),
            thread_id=target.thread_id,
        )
        self._write(f"→ {where} #{ref.message_id}", message)
        return ref

    async def update(self, ref: MessageRef, message: Message) -> None:
        self._write(f"↻ {ref.channel_id} #{ref.message_id}", message)

    async def aclose(self) -> None:
        self.stream.flush()

    def _write(self, head: str, message: Message) -> None:
        if self.limit is not None and self.written >= self.limit:
            self.skipped += 1
            return
        self.written += 1
        body = render(message).replace("\n", "\n    ")
        self.stream.write(f"{head}\n    {body}\n")
