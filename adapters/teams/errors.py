"""Bot Framework connector failures as `DeliveryError`s: the one table of connector HTTP
statuses (and, where the status alone does not decide, its error code) and what the
delivery queue does about each (README "When a platform call fails",
docs/platform-faults.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import aiohttp
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.errors import DeliveryError, FailureKind, HoldScope, retry_after_seconds
from bot.messages import PLATFORM_CALL_TIMEOUT

logger = logging.getLogger(__name__)

T = TypeVar("T")

_ADMIN = (FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE)
_CHANNEL = (FailureKind.NEEDS_ADMIN, HoldScope.CHANNEL)
_GONE = (FailureKind.PERMANENT, None)
_AGAIN = (FailureKind.TRANSIENT, None)
_SMALLER = (FailureKind.TOO_LARGE, None)

# (status, connector error code) first, then the status alone. Teams asks us to slow down
# (429), or is briefly unable (412 on a busy conversation, 5xx): retry later. 401: the
# connector refuses the bot's own credentials, so nothing of the tenant goes out. 403: the
# bot is not (or no longer) in the conversation, unless the person blocked it or an admin
# turned the app off for the tenant. 413: the message is over Teams' size limit
# (`adapters.teams.sizes`): it is sent again in smaller parts.
CODES: Mapping[tuple[int, str], tuple[FailureKind, HoldScope | None]] = MappingProxyType(
    {
        (403, "BotDisabledByAdmin"): _ADMIN,
        (403, "ConversationBlockedByUser"): _GONE,
        (403, "MessageWritesBlocked"): _GONE,
    }
)
STATUSES: Mapping[int, tuple[FailureKind, HoldScope | None]] = MappingProxyType(
    {
        400: _GONE,  # BadArgument / BadSyntax: this activity will never be accepted
        401: _ADMIN,
        403: _CHANNEL,  # BotNotInConversationRoster
        404: _GONE,  # ConversationNotFound / ActivityNotFound
        408: _AGAIN,
        412: _AGAIN,
        413: _SMALLER,  # MessageSizeTooBig
        429: _AGAIN,
        500: _AGAIN,
        502: _AGAIN,
        503: _AGAIN,
        504: _AGAIN,
    }
)


async def call_teams(
    operation: Callable[[], Awaitable[T]], *, within: float = PLATFORM_CALL_TIMEOUT
) -> T:
    """Run one platform operation within `within` seconds. A timeout, or a request
    that failed on its way (msrest's `ClientRequestError`: a read timeout, a connection lost
    after sending), may have been carried out all the same."""
    try:
        return await asyncio.wait_for(operation(), within)
    except HttpOperationError as exc:
        raise as_delivery_error(exc) from exc
    except (ClientRequestError, TimeoutError) as exc:
        message = f"teams: {type(exc).__name__}: {exc}"[:500]
        raise DeliveryError(message, maybe_delivered=True) from exc
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"teams: {type(exc).__name__}: {exc}") from exc


def as_delivery_error(exc: HttpOperationError) -> DeliveryError:
    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    headers: Any = getattr(response, "headers", None) or {}
    code = _error_code(exc)
    message = f"teams: HTTP {status} {code or ''}: {exc}"[:500]
    if status == 429:
        return DeliveryError(message, retry_after=_retry_after(headers), reason="429")
    kind, scope = CODES.get((status, code or ""), STATUSES.get(status, _fallback(status)))
    return DeliveryError(message, kind=kind, scope=scope, reason=code or f"http_{status}")


def refused(kind: FailureKind, message: str, *, scope: HoldScope | None = None) -> DeliveryError:
    """A failure the adapter finds before calling the connector (no stored conversation)."""
    return DeliveryError(f"teams: {message}", kind=kind, scope=scope, reason="not_in_conversation")


def _fallback(status: int) -> tuple[FailureKind, HoldScope | None]:
    """A status missing from the table: other 4xx will not change on a retry."""
    return _GONE if 400 <= status < 500 else _AGAIN


def _error_code(exc: HttpOperationError) -> str | None:
    """The connector's `{"error": {"code": …}}`, as botframework-connector deserialised it."""
    inner = getattr(getattr(exc, "error", None), "error", None)
    code = getattr(inner, "code", None)
    return str(code) if code else None


def _retry_after(headers: Any) -> float:
    return retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after"))
