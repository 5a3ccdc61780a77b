"""Bot Framework connector failures as `DeliveryError`s the delivery queue understands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.delivery import PLATFORM_CALL_TIMEOUT
from bot.errors import DeliveryError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Teams asks us to slow down (429), or is briefly unable (412 precondition on a busy
# conversation, 5xx): retry later. 403/404: the bot is not (or no longer) there.
RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})


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
    message = f"teams: HTTP {status}: {exc}"[:500]
    if status in RETRYABLE:
        return DeliveryError(message, retry_after=_retry_after(headers) if status == 429 else None)
    return DeliveryError(message, permanent=400 <= status < 500)


def _retry_after(headers: Any) -> float:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0
