"""A local stand-in for the Bot Framework's token signing: an RSA key of our own, its OpenID
metadata and JWKS served on 127.0.0.1, and tokens minted as the Bot Connector mints them; and
a key endpoint that accepts connections and never answers.

Shapes follow Microsoft's "Authentication with the Bot Connector API": the metadata at
`https://login.botframework.com/v1/.well-known/openidconfiguration` names a `jwks_uri`; each
JWKS key carries `kid`, `x5t`, `n`, `e` and the channel ids it is `endorsements` for; a token
is RS256 with `kid` in its header, and `iss` https://api.botframework.com, `aud` the bot's app
id, `serviceurl` the activity's serviceUrl, `nbf`/`exp` (an hour) in its claims.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
APP_ID = "8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6"  # the bot in tests/payloads/teams ("28:" + it)
KEY_ID = "bf-test-key-1"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SigningAuthority:
    """The metadata and key endpoints on an ephemeral port; counts what it was asked."""

    def __init__(self, *, endorsements: tuple[str, ...] = ("msteams", "webchat")) -> None:
        self.key = new_key()
        self.endorsements = list(endorsements)
        self.requests: list[str] = []
        self.metadata_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(METADATA_PATH, self._metadata)
        app.router.add_get(KEYS_PATH, self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.metadata_url = self._base + METADATA_PATH
        return self.metadata_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self._base + KEYS_PATH,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk |= {"kid": KEY_ID, "use": "sig", "x5t": KEY_ID, "endorsements": self.endorsements}
        return web.json_response({"keys": [jwk]})

    def token(
        self,
        *,
        service_url: str,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KEY_ID,
        lifetime: float = 3600,
        **claims: Any,
    ) -> str:
        """A Bot Connector token for the bot; `claims` override or add claims."""
        now = int(time.time())
        body: dict[str, Any] = {"serviceurl": service_url, "iss": ISSUER, "aud": APP_ID}
        body |= {"nbf": now - 60, "exp": int(now + lifetime)}
        body |= claims
        headers = {"kid": kid, "x5t": kid, "typ": "JWT"}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers=headers)


class SilentEndpoint:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{METADATA_PATH}"
        return self.url

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)  # held open, unanswered, until close()

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
