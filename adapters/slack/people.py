"""Who a Slack user is to us: the facts `bot.domain.roles` decides on. A person's own workspace
(the user object's `team_id` in interactivity payloads, else `users.info`), and which
workspaces are ours, read from the installation, never from a request's `team`: in a Slack
Connect channel that is the acting user's workspace, so a customer's own request names the
customer's workspace."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.schema import Config
from bot.config.types import PersonRef
from bot.domain.roles import Caller, caller_in, our_workspaces

logger = logging.getLogger(__name__)

# What a Web API call can fail with besides an error answer (SlackApiError is a
# SlackClientError): no connection, a timeout, slack_sdk's own AttributeError on a 200
# whose body is text or a JSON array or string, and its ValueError on reading an answer
# served as binary. (On a body that is not JSON at all it raises SlackApiError with the raw
# aiohttp response in place of an answer: see `_error_code`.)
CALL_FAILURES = (
    SlackClientError,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
    ValueError,
    AttributeError,
)
# How many people's home teams are kept: enough for every user a busy workspace's requests
# name in a day, and a bound on a long-running process's memory (the oldest is forgotten).
REMEMBERED = 10_000


class People:
    """Resolves callers, remembering the home teams of the `remember` most recently seen
    users (a user never changes workspace); an answer that did not place them is not
    remembered."""

    def __init__(
        self, *, client: AsyncWebClient, config: Config, oauth: bool, remember: int = REMEMBERED
    ) -> None:
        self._client = client
        self._config = config
        self._oauth = oauth
        self._remember = remember
        self._teams: OrderedDict[str, str | None] = OrderedDict()

    async def caller(self, *, user_id: str, user_team: str | None, context: Any) -> Caller:
        """`user_team` is what the payload says of the user themself (interactivity
        payloads carry it); without it, ask `users.info` (with the request's own client,
        which holds that workspace's token)."""
        home: str | None = user_team
        verified = True
        if not home:
            home, verified = await self._team_of(user_id, context.get("client") or self._client)
        person = PersonRef(platform="slack", user_id=user_id)
        return caller_in(person, home=home, ours=self.ours(context), verified=verified)

    def ours(self, context: Any) -> frozenset[str]:
        """Our workspaces. With one bot token, bolt's `authorize_result` is `auth.test` on
        that token: the workspace we are installed in. With OAuth, bolt looks the
        installation up by the request's team, which in a Slack Connect channel is the
        acting user's (and anyone may install the app from /slack/install): only the
        accounts' configured `workspace`s count."""
        installed = None
        if not self._oauth:
            result = context.get("authorize_result")
            team = getattr(result, "team_id", None)
            installed = team if isinstance(team, str) and team else None
        return our_workspaces(self._config, platform="slack", installed=installed)

    async def _team_of(self, user_id: str, client: AsyncWebClient) -> tuple[str | None, bool]:
        """(the user's home team, whether Slack's answer settled it)."""
        if user_id in self._teams:
            self._teams.move_to_end(user_id)
            return self._teams[user_id], True
        try:
            response = await client.users_info(user=user_id)
            user = response.get("user")
            team = user.get("team_id") if isinstance(user, dict) else None
        except SlackApiError as exc:
            # A foreign user the workspace cannot see answers user_not_found: a customer,
            # for good. Anything else (rate limit, outage) is not remembered.
            if _error_code(exc) in ("user_not_found", "users_not_found"):
                self._keep(user_id, None)
                return None, True
            logger.info("users.info %s failed (%s): treating as external", user_id, exc)
            return None, False
        except CALL_FAILURES as exc:
            logger.info("users.info %s unreadable (%s): treating as external", user_id, exc)
            return None, False
        if not isinstance(team, str) or not team:
            logger.info("users.info %s named no team: treating as external", user_id)
            return None, False
        self._keep(user_id, team)
        return team, True

    def _keep(self, user_id: str, team: str | None) -> None:
        self._teams[user_id] = team
        if len(self._teams) > self._remember:
            self._teams.popitem(last=False)


def _error_code(exc: SlackApiError) -> str | None:
    """The `error` of an answer; None when the body was not a JSON object (slack_sdk then
    puts the aiohttp response itself, or an empty answer, in `exc.response`)."""
    data = getattr(exc.response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None
