"""Hypothesis strategies for hostile input: arbitrary JSON, hostile strings, and mutations of
the real payload files (drop keys, change types, huge strings, wrong nesting).

Every fuzzer is bounded and deterministic (`fuzz_settings`): a fixed number of examples,
derandomized, no example database, so CI runs the same requests every time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
Json = Any
JsonPath = tuple[str | int, ...]

# Strings that parsers and handlers trip on. No lone surrogates: they cannot be sent in a form
# body; the JSON fuzzers add them as `\ud800` escapes of their own.
HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "NaN",
    "2147483648",
    "99999999999999999999",
    ":",
    "1:5",
    "0:0",
    "1:1:1",
    "1:-1",
    "+1:5",
    "cx_score:",
    "cx_score:5",
    "cx_score:99",
    "cx_survey:1",
    "cx_survey:2147483648",
    "cx_alert:1",
    "cx_alert:",
    "{}",
    "[]",
    '{"survey_id": 1}',
    '{"alert_id": 1e999}',
    '{"survey_id": true}',
    "[" * 2000,
    "<@U0BOT>",
    "<@U0BOT> report acme",
    "report",
    "report acme --days 99999999999",
    "report --days -1",
    "log",
    "ask",
    "help",
    "\u202eevil",
    "😀" * 40,
    "x" * 5000,
)


# What a person can type into a text input: the free text that ends up in the database.
TYPED = st.one_of(
    st.sampled_from(
        ["a\u0000b", "\u0000", "", " ", "x" * 3001, "x" * 40_000, "<!channel>", "😀" * 500]
    ),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=40),
)


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: examples are slow and the database they write to keeps growing, so a
        # failure is reported at once, as generated (the assertion messages carry the body).
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=(
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ),
        print_blob=True,
    )


def load(kind: str, name: str) -> Json:
    return json.loads((PAYLOADS / kind / f"{name}.json").read_text(encoding="utf-8"))


def payload_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (PAYLOADS / kind).glob("*.json"))


def vocabulary(documents: list[Json]) -> tuple[list[str], list[str]]:
    """The keys and the string values of real payloads: mutations that reuse them reach
    deeper into the handlers than random text does."""
    keys: set[str] = set()
    values: set[str] = set()
    for document in documents:
        for _path, node in walk(document):
            if isinstance(node, dict):
                keys.update(node)
            elif isinstance(node, str) and "://" not in node:
                values.add(node)
    return sorted(keys), sorted(values)


def walk(node: Json, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Json]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def strings(values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40), st.sampled_from(HOSTILE_STRINGS), st.sampled_from(values)
    )


def json_values(keys: list[str], values: list[str]) -> st.SearchStrategy[Json]:
    """Any JSON value, nested; keys and strings biased towards the real payloads' ones."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        strings(values),
    )
    names = st.one_of(st.sampled_from(keys), st.text(max_size=12))
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=5),
        max_leaves=20,
    )


Mutation = Callable[[Json, st.DrawFn], Json]


def _mutations(keys: list[str], values: list[str]) -> dict[str, Mutation]:
    any_json = json_values(keys, values)
    return {
        "replace": lambda _old, draw: draw(any_json),
        "vocabulary": lambda _old, draw: draw(st.sampled_from(values)),
        "hostile": lambda _old, draw: draw(st.sampled_from(HOSTILE_STRINGS)),
        "huge": lambda _old, draw: "x" * draw(st.sampled_from((3001, 40_000, 200_000))),
        "null": lambda _old, _draw: None,
        "wrap": lambda old, _draw: [old],
        "nest": lambda old, draw: {draw(st.sampled_from(keys)): old},
        "stringify": lambda old, _draw: json.dumps(old),
        "number": lambda _old, draw: draw(st.sampled_from((0, -1, 1.5, 2**31, 2**63, 10**30))),
        "empty": lambda old, _draw: type(old)() if isinstance(old, dict | list | str) else {},
        "unwrap": lambda old, _draw: _first(old),
    }


def _first(node: Json) -> Json:
    if isinstance(node, list):
        return node[0] if node else None
    if isinstance(node, dict):
        return next(iter(node.values()), None)
    return node


@st.composite
def mutated(
    draw: st.DrawFn, document: Json, keys: list[str], values: list[str], max_mutations: int = 4
) -> Json:
    """`document` with 1 to `max_mutations` changes at random places, the root included."""
    mutations = _mutations(keys, values)
    node = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from([p for p, _ in walk(node)]))
        name = draw(st.sampled_from([*sorted(mutations), "drop", "add"]))
        node = _apply(node, path, name, mutations, draw, keys)
    return node


def _apply(
    root: Json,
    path: JsonPath,
    name: str,
    mutations: dict[str, Mutation],
    draw: st.DrawFn,
    keys: list[str],
) -> Json:
    if not path:
        return root if name in ("drop", "add") else mutations[name](root, draw)
    parent = root
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if name == "drop":
        del parent[last]
    elif name == "add":
        target = parent[last] if isinstance(parent[last], dict) else parent
        if isinstance(target, dict):
            target[draw(st.sampled_from(keys))] = mutations["replace"](None, draw)
    else:
        parent[last] = mutations[name](parent[last], draw)
    return root


def point_urls_at(node: Json, url: str) -> Json:
    """Every URL-like value replaced by `url` (a local fake): the bot calls back whatever
    `response_url` or `serviceUrl` says, and a fuzzer must never make it call out."""
    if isinstance(node, dict):
        return {
            key: (
                url
                if "url" in str(key).lower() and not isinstance(value, dict | list)
                else point_urls_at(value, url)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [point_urls_at(value, url) for value in node]
    if isinstance(node, str) and "://" in node:
        return url
    return node
