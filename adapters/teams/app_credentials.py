"""The bot's own Entra credentials for connector calls: one set per cloud, kept between calls,
its token fetched off the event loop and within a timeout.

botbuilder's `PasswordServiceClientCredentialFactory` makes new `MicrosoftAppCredentials` for
every connector client, each with a new MSAL `ConfidentialClientApplication` and so an empty
token cache; msrest's `AsyncRequestsCredentialsPolicy` then signs the request with
`signed_session`, which asks login.microsoftonline.com for a token with blocking `requests`,
on the event loop and with no timeout of ours. Every send paid for a token, and a slow or
hanging Entra stalled the whole server.

`CachedCredentialsFactory` keeps one credentials object per (app id, scope, login endpoint,
authority validation), so MSAL's in-memory cache lasts, and gives each connector client an
`OffLoopSigning` in their place. msrest puts credentials that are an `AsyncHTTPPolicy` into the
pipeline as they are, so the token is asked for only when a request goes out (a turn that
sends nothing needs none), in a worker thread, under `asyncio.wait_for`, one fetch at a time
per credentials. MSAL's own HTTP calls get the same timeout, so a fetch that outlives the
wait still ends and gives its worker thread back. Failures become `DeliveryError`s the
queue understands; nothing was sent in any of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any

from botframework.connector.auth import (
    AuthenticationConstants,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from msal import ConfidentialClientApplication  # type: ignore[import-untyped]
from msrest.pipeline.async_abc import AsyncHTTPPolicy

from bot.errors import DeliveryError, FailureKind, HoldScope

logger = logging.getLogger(__name__)

# Entra's (OAuth 2.0) error codes that mean "ask again shortly"; every other refusal
# (invalid_client: a wrong or expired secret; unauthorized_client: the app is not in the
# tenant; …) stays until an admin fixes the app registration or cxbot's settings.
PASSING_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_ERROR_CODE = re.compile(r"with error: ([A-Za-z_]+)")

_Key = tuple[str, str, str, bool]


class CachedCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Wraps the configured factory: one credentials object (and token cache) per key."""

    def __init__(self, *, inner: ServiceClientCredentialsFactory, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout
        self._tokens: dict[_Key, AppToken] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        valid: bool = await self._inner.is_valid_app_id(app_id)
        return valid

    async def is_authentication_disabled(self) -> bool:
        disabled: bool = await self._inner.is_authentication_disabled()
        return disabled

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        token = self._tokens.get(key)
        if token is None:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            if not _signs(credentials):
                return credentials  # no app id (development mode): nothing to sign with
            _give_msal_a_timeout(credentials, timeout=self._timeout)
            token = self._tokens.setdefault(key, AppToken(credentials, timeout=self._timeout))
        return OffLoopSigning(token)


class AppToken:
    """One credentials object and its token, fetched in a worker thread, one fetch at a time:
    a caller that comes while a fetch is under way (even one whose first caller gave up
    waiting) waits for that fetch rather than starting another."""

    def __init__(self, credentials: Any, *, timeout: float) -> None:
        self.credentials = credentials
        self._timeout = timeout
        self._fetch: asyncio.Future[str] | None = None

    async def get(self) -> str:
        if self._fetch is None or self._fetch.done():
            # A cached token is a look-up in MSAL's cache; only a missing or ageing one is
            # asked of Entra. Either way the thread keeps the event loop free.
            fetch = asyncio.to_thread(self.credentials.get_access_token)
            self._fetch = asyncio.ensure_future(fetch)
            self._fetch.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(self._fetch), self._timeout)
        except TimeoutError:
            raise DeliveryError(
                f"teams: Entra gave no token within {self._timeout:g} s", reason="token_timeout"
            ) from None
        except PermissionError as exc:
            raise token_refused(exc) from exc
        except Exception as exc:  # MSAL and requests raise many kinds; none is the caller's
            raise DeliveryError(
                f"teams: the Entra token fetch failed: {type(exc).__name__}: {exc}"[:500],
                reason="token_failed",
            ) from exc


class OffLoopSigning(AsyncHTTPPolicy[Any, Any]):
    """What one connector client signs its requests with. One per client: a pipeline links
    the policy to the next one of its own."""

    def __init__(self, token: AppToken) -> None:
        super().__init__()
        self._token = token

    @property
    def microsoft_app_id(self) -> str:
        app_id: str = self._token.credentials.microsoft_app_id
        return app_id

    @property
    def oauth_scope(self) -> str:
        scope: str = self._token.credentials.oauth_scope
        return scope

    async def send(self, request: Any, **kwargs: Any) -> Any:
        token = await self._token.get()
        request.http_request.headers["Authorization"] = f"Bearer {token}"
        following = self.next
        assert following is not None, "a pipeline links every policy to the next"
        return await following.send(request, **kwargs)

    def signed_session(self, session: Any = None) -> Any:
        """For a synchronous msrest client made around these credentials (botbuilder's
        `TeamsInfo.get_teams_connector_client`; cxbot uses none): blocking by nature."""
        return self._token.credentials.signed_session(session)


def token_refused(exc: PermissionError) -> DeliveryError:
    """`MicrosoftAppCredentials` raises PermissionError with Entra's error and description."""
    found = _ERROR_CODE.search(str(exc))
    code = found.group(1) if found else "unknown"
    message = f"teams: Entra refused the bot's credentials: {exc}"[:500]
    if code in PASSING_ERRORS or not found:
        return DeliveryError(message, reason=f"token_{code}")
    return DeliveryError(
        message,
        kind=FailureKind.NEEDS_ADMIN,
        scope=HoldScope.WORKSPACE,
        reason="credentials_refused",
    )


def _signs(credentials: Any) -> bool:
    app_id = getattr(credentials, "microsoft_app_id", None)
    return bool(app_id) and app_id != AuthenticationConstants.ANONYMOUS_SKILL_APP_ID


def _give_msal_a_timeout(credentials: Any, *, timeout: float) -> None:
    """`MicrosoftAppCredentials.get_access_token` uses the MSAL application in its public
    `app` attribute, building one (without a timeout) only when that is empty."""
    if isinstance(credentials, MicrosoftAppCredentials) and credentials.app is None:
        credentials.app = TimedMsalApp(
            client_id=credentials.microsoft_app_id,
            client_credential=credentials.microsoft_app_password,
            authority=credentials.oauth_endpoint,
            timeout=timeout,
        )


class TimedMsalApp:
    """The `ConfidentialClientApplication` botbuilder would build, with a timeout on MSAL's
    HTTP calls, and built on first use: building it looks the authority up over the network,
    so it happens in the fetching thread, never on the event loop."""

    def __init__(
        self, *, client_id: str, client_credential: str, authority: str, timeout: float
    ) -> None:
        self._options = {
            "client_id": client_id,
            "client_credential": client_credential,
            "authority": authority,
            "timeout": timeout,
        }
        self._app: Any = None
        self._lock = threading.Lock()

    def acquire_token_silent(self, scopes: list[str], account: Any = None, **kwargs: Any) -> Any:
        return self._built().acquire_token_silent(scopes, account=account, **kwargs)

    def acquire_token_for_client(self, scopes: list[str], **kwargs: Any) -> Any:
        return self._built().acquire_token_for_client(scopes=scopes, **kwargs)

    def _built(self) -> Any:
        with self._lock:  # a failed build leaves nothing behind: the next fetch tries again
            if self._app is None:
                self._app = ConfidentialClientApplication(**self._options)
            return self._app


def _retrieve(fetch: asyncio.Future[str]) -> None:
    """A fetch nobody waits for any more still ends; its failure is not an unhandled one."""
    failure = None if fetch.cancelled() else fetch.exception()
    if failure is not None:
        logger.debug("an Entra token fetch failed: %s", type(failure).__name__)
