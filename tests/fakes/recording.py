"""An in-memory chat adapter that records what the core sends (a test double)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import ClassVar

from aiohttp import web

from bot.errors import DeliveryError
from bot.messages import Message, MessageRef, Target


@dataclass
class Posted:
    target: Target
    message: Message
    ref: MessageRef


@dataclass
class Updated:
    ref: MessageRef
    message: Message


@dataclass
class RecordingAdapter:
    """Records posts and updates; `fail_next` queues errors to raise on the next calls."""

    platform: ClassVar[str] = "slack"
    posts: list[Posted] = field(default_factory=list)
    updates: list[Updated] = field(default_factory=list)
    fail_next: list[DeliveryError] = field(default_factory=list)
    calls: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def mount(self, app: web.Application) -> None:
        """Nothing to mount: this adapter has no webhook."""

    async def post(self, target: Target, message: Message) -> MessageRef:
        self._maybe_fail()
        channel = target.channel_id or f"D-{target.user_id}"
        ref = MessageRef(
            platform=self.platform,
            channel_id=channel,
            message_id=f"m{next(self._ids)}",
            thread_id=target.thread_id,
        )
        self.posts.append(Posted(target=target, message=message, ref=ref))
        return ref

    async def update(self, ref: MessageRef, message: Message) -> None:
        self._maybe_fail()
        self.updates.append(Updated(ref=ref, message=message))

    async def aclose(self) -> None:
        """Nothing to close."""

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.fail_next:
            raise self.fail_next.pop(0)

    def messages_of(self, kind: str) -> list[Message]:
        sent = [p.message for p in self.posts] + [u.message for u in self.updates]
        return [m for m in sent if m.type == kind]
