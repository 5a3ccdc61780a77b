"""Where a platform lets the bot write on its own initiative (a Teams conversation
reference), kept in the database so every replica, and a restarted one, can use it."""

from __future__ import annotations

from typing import Any

from bot.core import Core
from bot.errors import InvalidInput
from storage.queries import conversations as rows

# The lengths of storage.models.ChatConversation's columns: a platform's ids fit them, and a
# forged activity's that do not are refused, not left to fail in the database.
_LONGEST = {"conversation_id": 400, "kind": 16, "user_id": 200, "tenant_id": 64}


async def remember(
    core: Core,
    *,
    platform: str,
    conversation_id: str,
    kind: str,
    user_id: str | None,
    tenant_id: str | None,
    reference: dict[str, Any],
) -> None:
    given = (
        ("conversation_id", conversation_id),
        ("kind", kind),
        ("user_id", user_id),
        ("tenant_id", tenant_id),
    )
    for name, value in given:
        if value is not None and (len(value) > _LONGEST[name] or "\x00" in value):
            raise InvalidInput(f"{name} is not one a chat platform sends", field=name)
    async with core.sessions() as session, session.begin():
        await rows.remember(
            session=session,
            platform=platform,
            conversation_id=conversation_id,
            kind=kind,
            user_id=user_id,
            tenant_id=tenant_id,
            reference=reference,
            now=core.now(),
        )


async def reference_of(core: Core, *, platform: str, conversation_id: str) -> dict[str, Any] | None:
    async with core.sessions() as session:
        found = await rows.find(session=session, platform=platform, conversation_id=conversation_id)
        return dict(found.reference) if found else None


async def personal_reference(core: Core, *, platform: str, user_id: str) -> dict[str, Any] | None:
    async with core.sessions() as session:
        found = await rows.personal_for(session=session, platform=platform, user_id=user_id)
        return dict(found.reference) if found else None


async def tenant_reference(
    core: Core, *, platform: str, tenant_id: str | None
) -> dict[str, Any] | None:
    async with core.sessions() as session:
        found = await rows.any_in_tenant(session=session, platform=platform, tenant_id=tenant_id)
        return dict(found.reference) if found else None


async def roster_references(
    core: Core, *, platform: str, tenant_id: str | None, limit: int = 3
) -> list[dict[str, Any]]:
    """References of the tenant's team and group conversations, the most recent first: where
    the platform's roster can say who someone is."""
    async with core.sessions() as session:
        found = await rows.rosters_in_tenant(
            session=session, platform=platform, tenant_id=tenant_id, limit=limit
        )
        return [dict(conversation.reference) for conversation in found]
