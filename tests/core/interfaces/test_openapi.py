"""The OpenAPI document of the HTTP API (GET /api/v1/openapi.json): valid OpenAPI 3.1,
generated from the pydantic models, and describing the answers the API really gives.
tests/fuzz/test_http_api_fuzz.py fuzzes the API from this same document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import OpenAPIV31SpecValidator

from bot.interfaces.http import openapi
from bot.interfaces.http.api import MAX_BATCH
from bot.interfaces.http.openapi import INTERACTIONS, PATH, REF
from bot.surveys.schemas import InteractionCreate
from storage.engine import Sessions
from tests.core.interfaces.test_http_api import AUTH, TOKEN, make_client, payload


@pytest.fixture
async def client(sessions: Sessions) -> AsyncIterator[TestClient[Any, Any]]:
    client = await make_client(sessions, TOKEN)
    yield client
    await client.close()


@pytest.fixture
async def document(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get(PATH)  # no token: the document is public
    assert response.status == 200
    assert response.content_type == "application/json"
    found: dict[str, Any] = await response.json()
    return found


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema validator for `schema`, resolving `#/components/...` in `document`."""
    root = {**schema, "components": document["components"]}
    return Draft202012Validator(root, format_checker=FormatChecker())


def response_schema(document: dict[str, Any], status: int) -> dict[str, Any]:
    answer = document["paths"][INTERACTIONS]["post"]["responses"][str(status)]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def request_schema(document: dict[str, Any]) -> dict[str, Any]:
    body = document["paths"][INTERACTIONS]["post"]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


async def test_the_served_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    OpenAPIV31SpecValidator(document).validate()
    assert document["openapi"] == "3.1.0"
    assert document == openapi.document(max_batch=MAX_BATCH)


async def test_the_schemas_are_the_models(document: dict[str, Any]) -> None:
    generated = InteractionCreate.model_json_schema(ref_template=REF)
    components = document["components"]["schemas"]
    for name, schema in generated.pop("$defs").items():
        assert components[name] == schema, name
    assert components["InteractionCreate"] == generated
    for batch in (components["InteractionList"], components["InteractionBatch"]):
        items = batch.get("properties", {}).get("interactions", batch)
        assert items["items"] == {"$ref": REF.format(model="InteractionCreate")}
        assert (items["minItems"], items["maxItems"]) == (1, MAX_BATCH)


async def test_the_operation_says_how_to_call_it(document: dict[str, Any]) -> None:
    operation = document["paths"][INTERACTIONS]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer"}
    assert set(operation["responses"]) == {"200", "201", "400", "401", "413"}
    shapes = request_schema(document)["oneOf"]
    assert [s["$ref"].rsplit("/", 1)[1] for s in shapes] == [
        "InteractionCreate",
        "InteractionBatch",
        "InteractionList",
    ]


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (payload(), True),
        ([payload("A"), payload("B")], True),
        ({"interactions": [payload("A")]}, True),
        ({"source": "x"}, False),
        (payload(occurred_at="yesterday"), False),
        (payload(contacts=[]), False),
        (payload(colour="red"), False),
        (payload(kind="Bad Kind"), False),
        ({"interactions": []}, False),
        ([payload(f"T-{i}") for i in range(MAX_BATCH + 1)], False),
        (42, False),
    ],
    ids=lambda v: json.dumps(v)[:30] if not isinstance(v, bool) else str(v),
)
async def test_the_request_schema_agrees_with_the_api(
    document: dict[str, Any], client: TestClient[Any, Any], body: Any, valid: bool
) -> None:
    assert validator(document, request_schema(document)).is_valid(body) is valid
    response = await client.post(INTERACTIONS, json=body, headers=AUTH)
    assert (response.status in (200, 201)) is valid


async def test_every_answer_is_as_documented(
    document: dict[str, Any], client: TestClient[Any, Any]
) -> None:
    big = payload("BIG", metadata={"blob": "x" * (1024 * 1024)})
    exchanges: list[tuple[Any, dict[str, str], int]] = [
        (payload("T-1"), AUTH, 201),
        (payload("T-1"), AUTH, 200),  # logged before
        ([payload("T-1"), payload("T-2")], AUTH, 200),
        (payload(contacts=[]), AUTH, 400),
        (payload(account="initech"), AUTH, 400),  # the core's InvalidInput, via the error hook
        (payload(), {}, 401),
    ]
    for body, headers, status in exchanges:
        response = await client.post(INTERACTIONS, json=body, headers=headers)
        assert response.status == status
        answer = await response.json()
        validator(document, response_schema(document, status)).validate(answer)
    response = await client.post(INTERACTIONS, json=big, headers=AUTH)
    assert response.status == 413
    documented = document["paths"][INTERACTIONS]["post"]["responses"]["413"]["content"]
    assert response.content_type in documented
