"""Who a Slack user is to us: one of our own workspace, or a customer (an external user in a
Slack Connect channel, whose home workspace differs from ours)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import PersonRef
from bot.roles import Caller

logger = logging.getLogger(__name__)


class People:
    """Resolves callers, remembering each user's home team for this process's lifetime
    (a user never changes workspace)."""

    def __init__(self, *, client: AsyncWebClient) -> None:
        self._client = client
        self._teams: dict[str, str | None] = {}

    async def caller(
        self,
        *,
        user_id: str,
        user_team: str | None,
        home_team: str | None,
        client: AsyncWebClient | None = None,
    ) -> Caller:
        """`user_team` is what the payload says (block actions carry it); without it, ask
        `users.info` (with the request's own client, which holds that workspace's token).
        Anyone we cannot place is treated as external: fail closed."""
        team = user_team or await self._team_of(user_id, client or self._client)
        external = home_team is None or team is None or team != home_team
        return Caller(person=PersonRef(platform="slack", user_id=user_id), external=external)

    async def _team_of(self, user_id: str, client: AsyncWebClient) -> str | None:
        if user_id in self._teams:
            return self._teams[user_id]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            # A foreign user the workspace cannot see answers user_not_found: a customer,
            # for good. Anything else (rate limit, outage) is not remembered.
            if exc.response.get("error") in ("user_not_found", "users_not_found"):
                self._teams[user_id] = None
            logger.info("users.info %s failed (%s): treating as external", user_id, exc)
            return None
        except (SlackClientError, OSError, TimeoutError) as exc:
            logger.info("users.info %s failed (%s): treating as external", user_id, exc)
            return None
        user = response.get("user") or {}
        team = user.get("team_id")
        self._teams[user_id] = str(team) if team else None
        return self._teams[user_id]
