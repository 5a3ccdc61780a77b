"""The HTTP API: log interactions (`POST /api/v1/interactions`), `/healthz`, `/metrics`.

Every answer to client input is a clear 4xx: 400 with field errors, 401 without the bearer
token, 413 over 1 MiB (aiohttp's client_max_size). Never a 500 for what a client can send.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from bot.core import Core
from bot.errors import field_path
from bot.interfaces.http import openapi
from bot.interfaces.http.health import HealthCheck
from bot.interfaces.http.json_body import finite as _finite
from bot.interfaces.http.json_body import has_nul as _has_nul
from bot.interfaces.http.json_body import no_constants as _no_constants
from bot.interfaces.http.metrics import render_metrics
from bot.surveys import intake
from bot.surveys.schemas import InteractionCreate

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
CORE_KEY: web.AppKey[Core] = web.AppKey("core", Core)
TOKEN_KEY: web.AppKey[str | None] = web.AppKey("api_token")
HEALTH_KEY: web.AppKey[HealthCheck] = web.AppKey("health", HealthCheck)
_BATCH = TypeAdapter(list[InteractionCreate])


def add_routes(app: web.Application, *, core: Core, api_token: str | None) -> None:
    app[CORE_KEY] = core
    app[TOKEN_KEY] = api_token
    app[HEALTH_KEY] = HealthCheck(sessions=core.sessions)
    app.on_cleanup.append(_close_health)
    app.router.add_post(openapi.INTERACTIONS, log_interactions)
    app.router.add_get(openapi.PATH, openapi.handler(max_batch=MAX_BATCH))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


def bad_request(message: str, fields: list[dict[str, str]] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return web.json_response(body, status=400)


def _authorized(request: web.Request) -> web.Response | None:
    """None when the bearer token matches; else the 401 to answer with."""
    expected = request.app[TOKEN_KEY]
    if not expected:
        return web.json_response(
            {"error": "the HTTP API is disabled: set CXBOT_API_TOKEN to enable it"}, status=401
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.json_response(
            {"error": "missing or wrong bearer token"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


async def log_interactions(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    try:
        raw = json.loads(await request.read(), parse_constant=_no_constants, parse_float=_finite)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        return bad_request(f"the body is not valid JSON: {exc}")
    except RecursionError:
        return bad_request("the body is nested too deeply")
    if _has_nul(raw):
        return bad_request("text must not contain NUL characters (\\u0000)")
    items, batch = _items(raw)
    if isinstance(items, web.Response):
        return items
    logged = await intake.log_interactions(request.app[CORE_KEY], items)
    results = [logged_json(entry) for entry in logged]
    if batch:
        created = sum(1 for r in results if r["created"])
        return web.json_response(
            {"created": created, "existing": len(results) - created, "results": results}
        )
    return web.json_response(results[0], status=201 if results[0]["created"] else 200)


def _items(raw: Any) -> tuple[list[InteractionCreate] | web.Response, bool]:
    """One interaction (an object), or a batch (`{"interactions": [...]}` or a list)."""
    batch = isinstance(raw, list) or (isinstance(raw, dict) and "interactions" in raw)
    entries = raw.get("interactions") if isinstance(raw, dict) and batch else raw
    if batch and not isinstance(entries, list):
        return bad_request("interactions must be a list"), batch
    if isinstance(raw, dict) and batch and (unknown := sorted(set(raw) - {"interactions"})):
        # As everywhere else in the API: an unknown field is refused, never dropped.
        fields = [{"field": name, "message": "unknown field"} for name in unknown]
        return bad_request("a batch holds only interactions", fields), batch
    if isinstance(entries, list) and not 1 <= len(entries) <= MAX_BATCH:
        return bad_request(f"a batch holds 1 to {MAX_BATCH} interactions"), batch
    try:
        if batch:
            return _BATCH.validate_python(entries), batch
        return [InteractionCreate.model_validate(entries)], batch
    except ValidationError as exc:
        prefix = "interactions" if batch else ""
        return bad_request("the interaction is not valid", field_errors(exc, prefix)), batch


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        path = field_path(error["loc"], prefix=prefix)
        errors.append({"field": path or "(body)", "message": error["msg"]})
    return errors


def logged_json(entry: intake.Logged) -> dict[str, Any]:
    return {
        "interaction_id": entry.interaction_id,
        "created": entry.created,
        "surveys": [
            {
                "survey_id": s.survey_id,
                "contact_id": s.contact_id,
                "status": s.status,
                "reason": s.reason,
                "due_at": s.due_at.isoformat() if s.due_at else None,
            }
            for s in entry.surveys
        ],
    }


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and takes a write (rolled back), else 503 with why."""
    state = await request.app[HEALTH_KEY].database()
    if state != "ok":
        return web.json_response({"status": "unhealthy", "database": state}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def _close_health(app: web.Application) -> None:
    await app[HEALTH_KEY].aclose()


async def metrics(request: web.Request) -> web.Response:
    body = await render_metrics(request.app[CORE_KEY])
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})
