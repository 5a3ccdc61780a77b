"""Reading a JSON request body strictly, as every JSON endpoint does: no NaN or Infinity
(they are not JSON, and no database stores them), no number that overflows a float, no
NUL in any text (PostgreSQL cannot store it)."""

from __future__ import annotations

import json
import math
from typing import Any

from bot.errors import InvalidInput


def loads(raw: bytes) -> Any:
    """The body's JSON value; `InvalidInput` (a 400) when it is not JSON as above."""
    try:
        value = json.loads(raw, parse_constant=no_constants, parse_float=finite)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("the body is nested too deeply") from exc
    if has_nul(value):
        raise InvalidInput("text must not contain NUL characters (\\u0000)")
    return value


def no_constants(name: str) -> Any:
    """NaN and Infinity are not JSON (and no database stores them in a JSON column)."""
    raise ValueError(f"{name} is not a JSON value")


def finite(text: str) -> float:
    """`1e400` parses to infinity, which is not JSON either."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a number")
    return value


def has_nul(value: Any, depth: int = 0) -> bool:
    """Whether any key or string holds U+0000, which PostgreSQL text cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v, depth + 1) for v in value)
    return False
