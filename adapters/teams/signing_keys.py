"""The keys the Bot Framework signs its tokens with, fetched without blocking the event loop.

botframework-connector fetches them itself with blocking `requests` and no timeout, on the
event loop, and retries a failed fetch on every request: one token with the Bot Framework's
issuer, while Microsoft's key endpoint hangs, stalls the whole server. Here the fetch is an
aiohttp call with a timeout, one at a time; the keys are kept for a day (as the SDK does), and
a failed fetch is remembered for a while, so a dead endpoint is not asked again on every
request. Keys published earlier are still used while a refresh fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from bot.errors import CxbotError

logger = logging.getLogger(__name__)

KEYS_FRESH_FOR = 24 * 3600.0  # seconds; what botframework-connector keeps them for
# A token naming a key we do not have may mean the keys rotated; look again, but not more
# often than this, or made-up key ids would make every request a fetch.
UNKNOWN_KEY_REFETCH = 300.0
FETCH_TIMEOUT = 5.0
FAILURE_REMEMBERED_FOR = 30.0


class KeysUnavailable(CxbotError):
    """The signing keys could not be fetched (endpoint down, slow, or answering nonsense)."""


@dataclass(frozen=True)
class SigningKey:
    key: Any  # a `cryptography` RSA public key, as PyJWT parses it
    endorsements: frozenset[str]  # channel ids the key may sign for; empty: any


class SigningKeys:
    """The keys published at one OpenID metadata URL (its `jwks_uri`)."""

    def __init__(
        self,
        *,
        metadata_url: str,
        timeout: float = FETCH_TIMEOUT,
        failure_ttl: float = FAILURE_REMEMBERED_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metadata_url = metadata_url
        self._timeout = timeout
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._keys: Mapping[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, key_id: str) -> SigningKey | None:
        """The key with this id; None when the published keys have no such key.
        Raises `KeysUnavailable` when they cannot be fetched (within the timeout)."""
        if self._due(key_id):
            try:
                await self._refresh(asked_at=self._clock())
            except KeysUnavailable:
                if key_id not in self._keys:
                    raise
        return self._keys.get(key_id)

    def _due(self, key_id: str) -> bool:
        if self._fetched_at is None:
            return True
        age = self._clock() - self._fetched_at
        return age >= KEYS_FRESH_FOR or (key_id not in self._keys and age >= UNKNOWN_KEY_REFETCH)

    async def _refresh(self, *, asked_at: float) -> None:
        # One fetch at a time: those who waited for it take its outcome, so none waits for
        # more than one timeout.
        async with self._lock:
            if self._attempted_at is not None and self._attempted_at >= asked_at:
                if self._failed_at == self._attempted_at:
                    raise KeysUnavailable("the signing keys could not be fetched")
                return
            if self._failed_at is not None and self._clock() - self._failed_at < self._failure_ttl:
                raise KeysUnavailable("the signing keys could not be fetched a moment ago")
            try:
                keys = await asyncio.wait_for(self._fetch(), self._timeout)
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
                self._failed_at = self._attempted_at = self._clock()
                logger.warning(
                    "Bot Framework signing keys unavailable from %s: %s: %s",
                    self._metadata_url,
                    type(exc).__name__,
                    exc,
                )
                raise KeysUnavailable("the signing keys could not be fetched") from exc
            self._keys = keys
            self._fetched_at = self._attempted_at = self._clock()
            self._failed_at = None
            logger.info("Bot Framework signing keys fetched (%d keys)", len(keys))

    async def _fetch(self) -> dict[str, SigningKey]:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
            metadata = await _json(session, self._metadata_url)
            jwks = await _json(session, str(metadata["jwks_uri"]))
        return parse_keys(jwks)


async def _json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, allow_redirects=False) as response:
        response.raise_for_status()
        body = await response.json(content_type=None)
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return body


def parse_keys(jwks: Mapping[str, Any]) -> dict[str, SigningKey]:
    """The usable RSA keys of a JWKS document by key id; a key we cannot read is skipped."""
    keys: dict[str, SigningKey] = {}
    for entry in jwks["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            parsed = jwt.PyJWK(entry, algorithm="RS256")
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            logger.warning("skipping an unreadable signing key %r", entry.get("kid"))
            continue
        endorsements = entry.get("endorsements") or []
        keys[entry["kid"]] = SigningKey(
            key=parsed.key, endorsements=frozenset(str(e) for e in endorsements)
        )
    if not keys:
        raise ValueError("the key set holds no usable key")
    return keys
