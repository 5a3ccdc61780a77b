"""The HMAC checks the sources' signature schemes are made of. Every comparison is
`hmac.compare_digest`, so that how long a refusal takes says nothing about the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

Digest = Literal["sha1", "sha256"]


def mac(secret: str, message: bytes, *, digest: Digest = "sha256") -> bytes:
    return hmac.new(raw(secret), message, getattr(hashlib, digest)).digest()


def raw(text: str) -> bytes:
    """`text` as UTF-8; a header's undecodable bytes (kept as surrogates) simply differ."""
    return text.encode("utf-8", "surrogatepass")


def hex_matches(
    given: str | None, *, secret: str, message: bytes, prefix: str = "", digest: Digest = "sha256"
) -> bool:
    """Whether `given` is `prefix` followed by the hex HMAC of `message` (hex in any case)."""
    if given is None or not given.startswith(prefix):
        return False
    expected = mac(secret, message, digest=digest).hex()
    return same(given[len(prefix) :].strip().lower(), expected)


def base64_matches(given: str | None, *, secret: str, message: bytes, prefix: str = "") -> bool:
    """Whether `given` is `prefix` followed by the base64 HMAC-SHA256 of `message`."""
    if given is None or not given.startswith(prefix):
        return False
    expected = base64.b64encode(mac(secret, message)).decode("ascii")
    return same(given[len(prefix) :].strip(), expected)


def same(given: str, expected: str) -> bool:
    """A constant-time comparison of two texts (a non-ASCII `given` simply differs)."""
    return hmac.compare_digest(raw(given), raw(expected))
