"""What a delivery row carries, in the core's terms: a neutral message and where it goes.

`storage.queries.deliveries` keeps the durable queue and stores each call's payload as plain
JSON; this module is its codec. `enqueue` turns a `Message` and its `Target` (a post) or
`MessageRef` (an update) into that JSON and the row's route (platform, channel); `payload_of`
rebuilds them from a claimed row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import MESSAGE_ADAPTER, Message, MessageRef, Target
from storage.models import Delivery
from storage.queries import deliveries


@dataclass(frozen=True)
class Payload:
    """What a delivery row says to do, rebuilt from its stored JSON."""

    message: Message
    target: Target | None
    ref: MessageRef | None


async def enqueue(
    *,
    session: AsyncSession,
    dedupe_key: str,
    action: Literal["post", "update"],
    purpose: str,
    subject_id: int | None,
    message: Message,
    target: Target | None = None,
    ref: MessageRef | None = None,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue one platform call; True if it is new, False if `dedupe_key` was already queued."""
    platform, channel_key = _route(action=action, target=target, ref=ref)
    return await deliveries.enqueue(
        session=session,
        dedupe_key=dedupe_key,
        action=action,
        purpose=purpose,
        subject_id=subject_id,
        platform=platform,
        channel_key=channel_key,
        payload=_encode(message=message, target=target, ref=ref),
        now=now,
        not_before=not_before,
    )


def _route(*, action: str, target: Target | None, ref: MessageRef | None) -> tuple[str, str]:
    if action == "post":
        if target is None:
            raise ValueError("a post delivery needs a target")
        return target.platform, target.channel_key
    if action == "update":
        if ref is None:
            raise ValueError("an update delivery needs a message ref")
        return ref.platform, f"{ref.platform}:{ref.channel_id}"
    raise ValueError(f"unknown delivery action {action!r}")


def _encode(*, message: Message, target: Target | None, ref: MessageRef | None) -> dict[str, Any]:
    return {
        "target": target.model_dump(mode="json") if target else None,
        "ref": ref.model_dump(mode="json") if ref else None,
        "message": MESSAGE_ADAPTER.dump_python(message, mode="json"),
    }


def payload_of(delivery: Delivery) -> Payload:
    """The stored call; raises pydantic's ValidationError if the JSON no longer fits."""
    data = delivery.payload
    return Payload(
        message=MESSAGE_ADAPTER.validate_python(data["message"]),
        target=Target.model_validate(data["target"]) if data.get("target") else None,
        ref=MessageRef.model_validate(data["ref"]) if data.get("ref") else None,
    )
