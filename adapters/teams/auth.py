"""Who may call `POST /api/messages`: the Bot Framework's tokens, checked without blocking.

The checks are those Microsoft lists for a request from the Bot Connector service to a bot
("Authentication with the Bot Connector API"): a Bearer JWT signed with RS256 by a key the
OpenID metadata publishes (and that key endorsed for the activity's channel), issuer
`https://api.botframework.com`, audience the bot's app id, within its validity (5 minutes'
skew), and a `serviceurl` claim equal to the activity's `serviceUrl`. Every malformed or
forged token ends as `Unauthorized` (a 401): nothing from the SDK's own validation, which
lets `DecodeError`, `IndexError` or a bare `Exception` escape, is on this path. Keys that
cannot be fetched end as `KeysUnavailable` (a 503) within the fetch timeout.

`TeamsAuthentication` is the seam botbuilder offers for this: the `BotFrameworkAuthentication`
the CloudAdapter asks, wrapping the configured one for everything but the token check, and
giving every connector client it makes the platform-call timeout (see `connector_timeout`).
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
)

from adapters.teams.connector_timeout import TimedConnectorFactory
from adapters.teams.signing_keys import KeysUnavailable, SigningKeys
from bot.errors import CxbotError
from bot.messages import PLATFORM_CALL_TIMEOUT

logger = logging.getLogger(__name__)

ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
ALGORITHMS = ["RS256"]
CLOCK_SKEW = 300  # seconds, as the Bot Framework allows
MAX_HEADER = 8192  # far above any real token; a longer header is not parsed at all


class Unauthorized(CxbotError):
    """The request does not carry a valid Bot Framework token; the message says why."""


class TeamsAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    def __init__(
        self,
        *,
        inner: BotFrameworkAuthentication,
        app_id: str,
        keys: SigningKeys,
        call_timeout: float = PLATFORM_CALL_TIMEOUT,
    ) -> None:
        self._inner = inner
        self._app_id = app_id
        self._keys = keys
        self._call_timeout = call_timeout

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        """Raises `Unauthorized` or `KeysUnavailable`; never anything else for any header."""
        if not self._app_id:
            # Development mode (no app id): botbuilder's anonymous identity, whatever was sent.
            result: AuthenticateRequestResult = await self._inner.authenticate_request(activity, "")
            result.connector_factory = self._timed(result.connector_factory)
            return result
        claims = await self._verified_claims(activity, auth_header)
        identity = ClaimsIdentity(claims, True)
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = self._inner.get_originating_audience()
        # Only the Bot Framework's own issuer passes, never a skill (another bot): the caller
        # is the public Azure channel, as botbuilder would have set it.
        result.caller_id = CallerIdConstants.public_azure_channel
        result.connector_factory = self.create_connector_factory(identity)
        return result

    async def _verified_claims(self, activity: Activity, header: str) -> dict[str, Any]:
        token = _bearer(header)
        key_id = _unverified_key_id(token)
        key = await self._keys.get(key_id)
        if key is None:
            raise Unauthorized("the token names a key the Bot Framework does not publish")
        if key.endorsements and activity.channel_id not in key.endorsements:
            raise Unauthorized(
                f"the key is not endorsed for channel {str(activity.channel_id)[:64]!r}"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self._app_id,
                issuer=ISSUER,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}: {exc}") from None
        if claims.get(AuthenticationConstants.SERVICE_URL_CLAIM) != activity.service_url:
            raise Unauthorized("the token's serviceurl is not the activity's serviceUrl")
        return claims

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._timed(self._inner.create_connector_factory(claims_identity))

    def _timed(self, factory: ConnectorFactory) -> ConnectorFactory:
        return TimedConnectorFactory(factory, timeout=self._call_timeout)

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        raise Unauthorized("streaming connections are not accepted")

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        return await self._inner.create_user_token_client(claims_identity)

    def get_originating_audience(self) -> str:
        audience: str = self._inner.get_originating_audience()
        return audience

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        raise Unauthorized("skill requests are not accepted")


def _bearer(header: str) -> str:
    if not header:
        raise Unauthorized("no Authorization header")
    if len(header) > MAX_HEADER:
        raise Unauthorized("the Authorization header is too long")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token:
        raise Unauthorized("the Authorization header is not a Bearer token")
    return token


def _unverified_key_id(token: str) -> str:
    """The key id of a token that claims the right algorithm and issuer. Checked before any
    key is fetched, so that no made-up token ever reaches Microsoft's key endpoint."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthorized(f"not a JWT: {type(exc).__name__}") from None
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized(f"signing algorithm {header.get('alg')!r} is not allowed")
    if claims.get("iss") != ISSUER:
        raise Unauthorized("the token is not issued by the Bot Framework")
    key_id = header.get("kid")
    if not isinstance(key_id, str) or not key_id:
        raise Unauthorized("the token names no signing key")
    return key_id


__all__ = ["KeysUnavailable", "TeamsAuthentication", "Unauthorized"]
