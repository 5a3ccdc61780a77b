"""What a connector refuses, each answered as the HTTP route documents: an unknown source
(404), a request its source did not sign (401), a field missing (400), an account nobody
configured (422)."""

from __future__ import annotations

from bot.errors import CxbotError, InvalidInput, NotFound


class NoSuchConnector(NotFound):
    """No connector is configured for this source."""


class BadSignature(CxbotError):
    """The request does not carry its source's signature (or shared secret)."""


class MissingField(InvalidInput):
    """The payload lacks a value the interaction needs; `field` is its path."""

    def __init__(self, field: str) -> None:
        super().__init__(f"the payload has no {field}", field=field)


class UnknownAccount(CxbotError):
    """No configured account matches what the payload names: `hints` says what it named
    (the organisation or company ids, the requester's e-mail domain)."""

    def __init__(self, source: str, hints: dict[str, object]) -> None:
        named = ", ".join(f"{k} {v}" for k, v in hints.items()) or "no organisation or e-mail"
        super().__init__(f"no account matches this {source} webhook ({named})")
        self.source = source
        self.hints = hints
