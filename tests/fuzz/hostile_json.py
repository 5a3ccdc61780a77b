"""Request bodies no JSON encoder writes, for the HTTP API: numbers that overflow a float,
lone surrogates and NUL escapes, file-system-hostile time zones, duplicate keys, deep
nesting, truncation, other encodings and bare bytes, around plausible interactions."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

RAW_TOKENS: tuple[str, ...] = (
    "1e400",
    "-1e400",
    "1E+999",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "0.0e-999",
    "1" + "0" * 400,
    "9" * 5000,  # over Python's 4300-digit limit for int()
    "123456789012345678901234567890.5",
    '"\\ud800"',
    '"x\\udfff"',
    '"\\udbff\\udfff"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\uffff"',
    '"\\ufeff "',
    '"  "',
    '""',
    "[]",
    "{}",
    "null",
    "true",
    "false",
    '"' + "x" * 3000 + '"',
    "[" * 60 + "]" * 60,
    '{"a":' * 60 + "1" + "}" * 60,
    '"America"',  # a directory under the zoneinfo path
    '"Etc"',
    '"' + "a" * 300 + '"',  # too long a file name
    '"../../../etc/passwd"',
    '"2026-02-30T00:00:00Z"',
    '"2026-11-16T08:00:00"',
    '"1999-12-31T23:59:59Z"',
    "1700000000",
)
# Paths where any JSON value is valid weigh more: a token there is refused only for itself.
FREE = (("metadata", "k"), ("metadata", "nested", "deep"))
PATHS: tuple[tuple[str | int, ...], ...] = (
    *FREE * 6,
    ("source",),
    ("external_id",),
    ("account",),
    ("kind",),
    ("occurred_at",),
    ("journey_stage",),
    ("owner",),
    ("note",),
    ("metadata",),
    ("metadata", "k"),
    ("metadata", "nested", "deep"),
    ("contacts",),
    ("contacts", 0),
    ("contacts", 0, "platform"),
    ("contacts", 0, "user_id"),
    ("contacts", 0, "email"),
    ("contacts", 0, "name"),
    ("contacts", 0, "locale"),
    ("contacts", 0, "timezone"),
    ("contacts", 0, "role"),
    ("where",),
    ("where", "channel_id"),
    ("where", "thread_id"),
)
_ID = st.text(alphabet="abcXYZ019._-", min_size=1, max_size=8)


@st.composite
def interactions(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible interaction the API accepts as it is."""
    return {
        "source": draw(st.sampled_from(["zendesk", "hubspot"])),
        "external_id": f"raw-{draw(_ID)}",
        "account": draw(st.sampled_from(["acme", "globex"])),
        "kind": draw(st.sampled_from(["support_ticket", "meeting", "onboarding"])),
        "occurred_at": "2026-11-16T08:00:00+02:00",
        "contacts": [{"platform": "slack", "user_id": f"U{draw(_ID)}", "timezone": "UTC"}],
        "where": {"platform": "slack", "channel_id": "CSHARED"},
        "metadata": {"k": 1, "nested": {"deep": [1.5, "x"]}},
    }


def _place(document: dict[str, Any], path: tuple[str | int, ...], marker: str) -> None:
    """Put `marker` at `path`, unless an earlier marker took a node on the way."""
    node: Any = document
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
        if not isinstance(node, dict | list):
            return
    node[path[-1]] = marker


@st.composite
def with_tokens(draw: st.DrawFn) -> str:
    """JSON text of an interaction, a list or an object batch, with raw tokens spliced in."""
    documents = draw(st.lists(interactions(), min_size=1, max_size=3))
    tokens = []
    for index in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        marker = f"@@raw{index}@@"
        target = draw(st.sampled_from(documents))
        _place(target, draw(st.sampled_from(PATHS)), marker)
        tokens.append((marker, draw(st.sampled_from(RAW_TOKENS))))
    shape = draw(st.sampled_from(["single", "list", "object"]))
    body: Any = {"single": documents[0], "list": documents, "object": {"interactions": documents}}
    text = json.dumps(body[shape])
    for marker, token in tokens:
        text = text.replace(f'"{marker}"', token)
    return text


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    text = draw(with_tokens())
    how = draw(
        st.sampled_from(
            ["as is", "as is", "as is", "duplicate key", "truncated", "trailing", "encoded"]
        )
    )
    if how == "duplicate key" and text.startswith("{"):
        text = '{"account": ' + draw(st.sampled_from(RAW_TOKENS)) + ", " + text[1:]
    elif how == "truncated":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif how == "trailing":
        text = text + draw(st.sampled_from([" x", "}", "\x00", " ", "\n\n"]))
    elif how == "encoded":
        codec = draw(st.sampled_from(["utf-16", "utf-32", "utf-8-sig", "latin-1"]))
        return text.encode(codec, errors="replace")
    return text.encode("utf-8", errors="surrogatepass")


def _regression(path: tuple[str | int, ...], token: str) -> bytes:
    document = {
        "source": "zendesk",
        "external_id": f"regression-{'.'.join(map(str, path))}-{token[:20]}",
        "account": "acme",
        "kind": "support_ticket",
        "occurred_at": "2026-11-16T08:00:00+02:00",
        "contacts": [{"platform": "slack", "user_id": "UREGRESSION"}],
        "metadata": {},
    }
    _place(document, path, "@@raw@@")
    return json.dumps(document).replace('"@@raw@@"', token).encode()


# Bodies that answered 500 once: each one is sent on every run.
REGRESSIONS: tuple[bytes, ...] = (
    _regression(("metadata", "k"), "1e400"),  # PostgreSQL: JSON has no Infinity
    _regression(("contacts", 0, "timezone"), "true"),  # ZoneInfo(True): TypeError
    _regression(("contacts", 0, "timezone"), '"America"'),  # a directory: IsADirectoryError
    _regression(("contacts", 0, "timezone"), '"' + "a" * 300 + '"'),  # ENAMETOOLONG
)

bodies = st.one_of(
    hostile_bodies(),
    st.binary(max_size=64),
    st.sampled_from(RAW_TOKENS).map(str.encode),
)
