"""Where a platform lets the bot write on its own initiative (a Teams conversation
reference), kept in the database so every replica, and a restarted one, can use it."""

from __future__ import annotations

from typing import Any

from bot.core import Core
from storage.queries import conversations as rows


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
