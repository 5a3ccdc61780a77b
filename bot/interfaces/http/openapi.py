"""The OpenAPI 3.1 document of the HTTP API, served at `GET /api/v1/openapi.json`.

Why generated and not written by hand: the request schemas come from the same pydantic
models the API validates with (`bot.surveys.schemas`), and the answers from the models below, so
the document cannot drift from the code; tests/core/interfaces/test_openapi.py and tests/fuzz/
check the answers the API really gives against it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from bot.interfaces.http import openapi_webhooks
from bot.surveys.schemas import InteractionCreate
from storage.models import SurveyStatus

PATH = "/api/v1/openapi.json"
INTERACTIONS = "/api/v1/interactions"
REF = "#/components/schemas/{model}"


class SurveyOutcome(BaseModel):
    """The survey decided for one contact of the interaction, asked or not."""

    survey_id: int
    contact_id: int
    status: SurveyStatus
    reason: str | None = Field(description="why the survey is suppressed (null when it is not)")
    due_at: datetime | None = Field(description="when the survey is due to be sent (UTC offset)")


class LoggedInteraction(BaseModel):
    """One logged interaction; `created` is false when (source, external_id) was logged
    before, and `surveys` is then empty: nothing changed."""

    interaction_id: int
    created: bool
    surveys: list[SurveyOutcome]


class BatchResult(BaseModel):
    """A logged batch: one result per interaction sent, in the same order."""

    created: int = Field(ge=0)
    existing: int = Field(ge=0)
    results: list[LoggedInteraction]


class FieldError(BaseModel):
    field: str = Field(description="where: `contacts[0].user_id`, or `(body)` for the whole body")
    message: str


class ApiError(BaseModel):
    error: str


class InvalidRequest(ApiError):
    """Malformed JSON or a schema violation: nothing was written."""

    fields: list[FieldError] = Field(
        default_factory=list, description="the field errors, when the fault lies in fields"
    )


_MODELS: tuple[type[BaseModel], ...] = (
    InteractionCreate,
    LoggedInteraction,
    BatchResult,
    InvalidRequest,
    ApiError,
    *openapi_webhooks.MODELS,
)


def component_schemas(*, max_batch: int) -> dict[str, Any]:
    """`components/schemas`: every model above (and the models they use), plus the two
    batch shapes the API accepts."""
    _, top = models_json_schema([(m, "validation") for m in _MODELS], ref_template=REF)
    schemas: dict[str, Any] = dict(top["$defs"])
    items = {
        "type": "array",
        "items": {"$ref": REF.format(model="InteractionCreate")},
        "minItems": 1,
        "maxItems": max_batch,
    }
    schemas["InteractionList"] = {**items, "description": "A batch as a bare JSON array."}
    schemas["InteractionBatch"] = {
        "type": "object",
        "description": "A batch as an object.",
        "properties": {"interactions": items},
        "required": ["interactions"],
        "additionalProperties": False,
    }
    return schemas


def _json(model: str, description: str, **extra: Any) -> dict[str, Any]:
    schema = {"$ref": REF.format(model=model)}
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _responses() -> dict[str, Any]:
    logged = {"$ref": REF.format(model="LoggedInteraction")}
    batch = {"$ref": REF.format(model="BatchResult")}
    return {
        "201": _json("LoggedInteraction", "One interaction, logged now."),
        "200": {
            "description": "A batch (BatchResult), or one interaction logged before.",
            "content": {"application/json": {"schema": {"oneOf": [batch, logged]}}},
        },
        "400": _json("InvalidRequest", "Malformed JSON, a schema violation, an unknown account."),
        "401": _json(
            "ApiError",
            "No bearer token, a wrong one, or no token configured (CXBOT_API_TOKEN).",
            headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
        ),
        "413": {
            "description": "The body is over 1 MiB (aiohttp's own plain-text answer).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    }


def _log_interactions(*, max_batch: int) -> dict[str, Any]:
    shapes = [
        {"$ref": REF.format(model=name)}
        for name in ("InteractionCreate", "InteractionBatch", "InteractionList")
    ]
    return {
        "operationId": "logInteractions",
        "summary": "Log one interaction, or a batch, and schedule its surveys",
        "description": (
            "Idempotent on (source, external_id): sending an interaction again changes "
            f"nothing and answers with the stored one. A batch holds 1 to {max_batch} "
            "interactions and is logged in one transaction: all of it, or nothing. "
            "`account` must be the key of an account in the configuration, `occurred_at` "
            "between the years 2000 and 2100, a `timezone` one of the IANA database; no "
            "text (keys of `metadata` included) may hold NUL (U+0000)."
        ),
        "security": [{"bearerAuth": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": shapes}}},
        },
        "responses": _responses(),
    }


def document(*, max_batch: int) -> dict[str, Any]:
    """The whole OpenAPI document, as a fresh dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cxbot HTTP API",
            "version": "1",
            "description": "Log customer interactions; cxbot asks the customers for feedback.",
        },
        "paths": {
            INTERACTIONS: {"post": _log_interactions(max_batch=max_batch)},
            **openapi_webhooks.paths(),
        },
        "components": {
            "schemas": component_schemas(max_batch=max_batch),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def handler(*, max_batch: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route handler; the document is rendered once, when the routes are added."""
    text = json.dumps(document(max_batch=max_batch))

    async def openapi_json(_request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    return openapi_json
