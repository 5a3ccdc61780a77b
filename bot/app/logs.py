"""Logging set-up: cxbot's own loggers in verbose mode, and no secret in any log line (SPEC §6).

Third-party libraries log what they handle at DEBUG: slack_sdk the body of every Web API
answer (an `oauth.v2.access` answer holds the workspace's bot token), aiosqlite every SQL
statement with its parameters (the same token on its way into `slack_bots`, and customers'
names, e-mails and comments). So `-v` raises only cxbot's package loggers; a library's debug
lines are shown only when asked for by name. Whatever is shown, the handler's
`RedactingFilter` masks tokens, secrets and the configured secret values in every record
from every logger, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TextIO
from urllib.parse import quote, quote_plus, urlsplit

from bot.config.connectors import SECRET_ENV

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN_PACKAGES = ("bot", "adapters", "storage")
# Environment variables whose values are secrets (SPEC §4), masked wherever they appear.
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
    "MICROSOFT_APP_PASSWORD",
    "CXBOT_API_TOKEN",
    "CXBOT_SECRET_KEY",
)
# URLs whose password is a secret too.
SECRET_URL_VARIABLES = ("CXBOT_DATABASE_URL", "CXBOT_SMTP_URL")
# Shorter values are not masked: replacing every "abc" would shred every line, and a value
# that short is guessed faster than it is read from a log.
MIN_SECRET_LENGTH = 4
MASK = "[redacted]"

_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"  # noqa: S105 - a pattern, not a password
# Names of fields that hold secrets (noqa: a pattern, not a password).
_SECRET_KEY = r"[\w-]*(?:secret|secret_key|api_key|private_key|password|passwd|token|assertion)"  # noqa: S105
_VALUE = r"\"[^\"]*\"|'[^']*'|[^\s&,;}\"')\]]+"
_Replacement = str | Callable[[re.Match[str]], str]


def _mask_value(match: re.Match[str]) -> str:
    """The key and separator as they were, the value masked inside its quotes if it had any."""
    value = match.group(2)
    quote_mark = value[0] if value[0] in "\"'" else ""
    return f"{match.group(1)}{quote_mark}{MASK}{quote_mark}"


_PATTERNS: tuple[tuple[re.Pattern[str], _Replacement], ...] = (
    # Slack tokens: bot, user, app-level, refresh (xoxe-), rotated (xoxe.xoxp-, xoxe.xoxb-).
    (re.compile(r"\b(xox[abposre](?:\.xox[abposre])?|xapp)-[A-Za-z0-9-]+"), rf"\1-{MASK}"),
    # JSON Web Tokens (Bot Framework access tokens, id tokens): three base64url segments.
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"), MASK),
    # Authorization header values.
    (re.compile(rf"(?i)\b(bearer|basic)(\s+){_TOKEN_CHARS}{{8,}}"), rf"\1\2{MASK}"),
    # `"client_secret": "…"`, `'access_token': '…'`, `client_secret=…`, `password=…`.
    # Keys and schemes start where a run of their characters starts, not at any `\b` inside
    # one: `a-a-a-…` has a word boundary at every hyphen, and trying the key from each of
    # them is quadratic (a 20 kB line took 17 s, on the event loop, in the logging call).
    (re.compile(rf"(?i)(?<![\w-])({_SECRET_KEY}[\"']?\s*[:=]\s*)({_VALUE})"), _mask_value),
    # OAuth codes and states in query strings (access logs of /slack/oauth_redirect).
    (re.compile(r"([?&](?:code|state)=)[^&\s\"']+"), rf"\1{MASK}"),
    # Slack's response URLs and incoming webhooks: the path is the credential.
    (re.compile(r"(https?://hooks\.slack\.com/)[^\s\"'<>]+"), rf"\1{MASK}"),
    # The password of a URL: `postgresql://user:password@host`, `smtp://user:pass@host`.
    (
        re.compile(r"((?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)"),
        rf"\1{MASK}\2",
    ),
)


class Redactor:
    """Masks the patterns above and the given secret values (also URL- and JSON-escaped)."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        variants = {form for secret in secrets for form in _forms(secret)}
        longest_first = sorted(variants, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, longest_first))) if variants else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def _forms(secret: str) -> set[str]:
    if len(secret) < MIN_SECRET_LENGTH:
        return set()
    escaped = secret.replace("\\", "\\\\").replace('"', '\\"')
    return {secret, quote(secret, safe=""), quote_plus(secret), escaped} - {""}


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's message, traceback and stack text with
    secrets masked. It never raises and never drops a record: a filter that raised would
    lose the line and make the logging call fail."""

    def __init__(self, *, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _redact_record(record, self._redact)
        except Exception:  # noqa: BLE001 -- whatever went wrong, no unmasked text goes out
            record.msg = "(a log line that could not be redacted was left out)"
            record.args = ()
            record.exc_info = record.exc_text = record.stack_info = None
        return True


_EXCEPTIONS = logging.Formatter()


def _redact_record(record: logging.LogRecord, redact: Callable[[str], str]) -> None:
    record.msg = redact(_message(record))
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
    if record.exc_text:
        # The formatter prints exc_text when it is set, so the raw exc_info is never used.
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 -- arguments that do not fit the format string
        # logging would print the raw arguments in its "Logging error" report: not here.
        return f"{record.msg} (with arguments that do not fit it: {_safe_repr(record.args)})"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 -- a __repr__ may raise anything; a log line must not
        return f"<{type(value).__name__}>"


def configured_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secret values set in `environ`: SPEC §4's secrets, those cxbot.yaml may name for
    its connectors and webhooks (`…_SECRET`), and the passwords of URLs."""
    values = [environ[name] for name in SECRET_VARIABLES if environ.get(name)]
    values += [v for name, v in environ.items() if v and re.match(SECRET_ENV, name)]
    for name in SECRET_URL_VARIABLES:
        try:
            password = urlsplit(environ.get(name, "")).password
        except ValueError:
            password = None
        if password:
            values.append(password)
    return values


def configure_logging(
    *,
    verbose: bool,
    environ: Mapping[str, str],
    debug_loggers: Sequence[str] = (),
    stream: TextIO | None = None,
) -> Callable[[], None]:
    """Log to `stream` (stderr) through a redacting handler; returns what undoes it.

    Verbose: cxbot's own loggers at DEBUG, every other at INFO. Otherwise WARNING (`serve`
    raises the root to INFO itself). `debug_loggers` are put at DEBUG by name either way."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(redact=Redactor(secrets=configured_secrets(environ))))
    root = logging.getLogger()
    names = (*(OWN_PACKAGES if verbose else ()), *debug_loggers)
    debug = [logging.getLogger(name) for name in names]
    saved = [(logger, logger.level) for logger in (root, *debug)]
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for logger in debug:
        logger.setLevel(logging.DEBUG)

    def undo() -> None:
        root.removeHandler(handler)
        for logger, level in reversed(saved):
            logger.setLevel(level)

    return undo
