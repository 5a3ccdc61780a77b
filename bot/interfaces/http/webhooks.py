"""`POST /api/v1/webhooks/{source}`: the webhooks of helpdesks and CRMs (SPEC §4), each
checked with its own source's signature or shared secret (`bot.connectors`).

The answers: 201 (logged now) or 200 (logged before; or signed but about nothing cxbot
logs, `{"ignored": why}`), 400 naming the field that is missing or wrong, 401 for a request
its source did not sign (nothing is parsed, nothing written), 404 for a source with no
connector, 413 over 1 MiB, 422 for an account no configuration names (with what the
webhook named). Never a 500 for what a client can send.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from bot.connectors import receive
from bot.connectors.errors import BadSignature, NoSuchConnector, UnknownAccount
from bot.connectors.incoming import Ignored, Request
from bot.core import Core
from bot.errors import InvalidInput
from bot.interfaces.http import json_body
from bot.interfaces.http.api import bad_request, logged_json
from bot.interfaces.http.openapi_webhooks import WEBHOOKS

logger = logging.getLogger(__name__)

_CORE: web.AppKey[Core] = web.AppKey("webhooks_core", Core)
_SECRETS: web.AppKey[Mapping[str, str]] = web.AppKey("webhooks_secrets")


def add_routes(app: web.Application, *, core: Core, secrets: Mapping[str, str]) -> None:
    app[_CORE] = core
    app[_SECRETS] = secrets
    app.router.add_post(WEBHOOKS, receive_webhook)


async def receive_webhook(request: web.Request) -> web.Response:
    core = request.app[_CORE]
    try:
        found = receive.connector(core, request.match_info["source"], secrets=request.app[_SECRETS])
    except NoSuchConnector as exc:
        return web.json_response({"error": str(exc)}, status=404)
    inbound = await _inbound(request)
    try:
        receive.check(core, found, inbound)
    except BadSignature as exc:
        return web.json_response({"error": str(exc)}, status=401)
    try:
        outcome = await receive.log(core, found, json_body.loads(inbound.body), inbound)
    except UnknownAccount as exc:
        return web.json_response({"error": str(exc), "account": exc.hints}, status=422)
    except InvalidInput as exc:
        fields = [{"field": exc.field, "message": str(exc)}] if exc.field else None
        return bad_request(str(exc), fields)
    if isinstance(outcome, Ignored):
        return web.json_response({"ignored": outcome.reason})
    return web.json_response(logged_json(outcome), status=201 if outcome.created else 200)


async def _inbound(request: web.Request) -> Request:
    """The request as its source sent it: the URL with its escapes as they were (a source
    may sign it), header names in lower case, the raw body."""
    return Request(
        method=request.method,
        url=f"{request.scheme}://{request.host}{request.raw_path}",
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await request.read(),
        query=dict(request.query),
    )
