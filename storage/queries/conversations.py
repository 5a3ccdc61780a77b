"""Stored conversation references (where a platform lets the bot write proactively)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatConversation
from storage.queries.upsert import insert_ignore


async def remember(
    *,
    session: AsyncSession,
    platform: str,
    conversation_id: str,
    kind: str,
    user_id: str | None,
    tenant_id: str | None,
    reference: dict[str, Any],
    now: datetime,
) -> None:
    """Store (or refresh) the reference of a conversation."""
    values = {
        "platform": platform,
        "conversation_id": conversation_id,
        "kind": kind,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "reference": reference,
        "updated_at": now,
    }
    await session.exec(insert_ignore(session, ChatConversation, values))
    found = await find(session=session, platform=platform, conversation_id=conversation_id)
    if found is not None and found.reference != reference:
        found.reference, found.updated_at = reference, now
        found.user_id = found.user_id or user_id
        session.add(found)


async def find(
    *, session: AsyncSession, platform: str, conversation_id: str
) -> ChatConversation | None:
    result = await session.exec(
        select(ChatConversation).where(
            ChatConversation.platform == platform,
            ChatConversation.conversation_id == conversation_id,
        )
    )
    return result.first()


async def personal_for(
    *, session: AsyncSession, platform: str, user_id: str
) -> ChatConversation | None:
    """The user's 1:1 conversation with the bot, the most recently seen first."""
    result = await session.exec(
        select(ChatConversation)
        .where(
            ChatConversation.platform == platform,
            ChatConversation.user_id == user_id,
            ChatConversation.kind == "personal",
        )
        .order_by(col(ChatConversation.updated_at).desc())
    )
    return result.first()


async def any_in_tenant(
    *, session: AsyncSession, platform: str, tenant_id: str | None
) -> ChatConversation | None:
    """Some conversation in the tenant: its service URL is where a new one is created."""
    query = select(ChatConversation).where(ChatConversation.platform == platform)
    if tenant_id is not None:
        query = query.where(ChatConversation.tenant_id == tenant_id)
    result = await session.exec(query.order_by(col(ChatConversation.updated_at).desc()))
    return result.first()


async def rosters_in_tenant(
    *, session: AsyncSession, platform: str, tenant_id: str | None, limit: int
) -> Sequence[ChatConversation]:
    """The tenant's conversations that are not 1:1 chats (teams, channels, group chats),
    the most recently seen first: rosters a person can be looked up in."""
    query = select(ChatConversation).where(
        ChatConversation.platform == platform, ChatConversation.kind != "personal"
    )
    if tenant_id is not None:
        query = query.where(ChatConversation.tenant_id == tenant_id)
    query = query.order_by(col(ChatConversation.updated_at).desc()).limit(limit)
    result = await session.exec(query)
    return result.all()
