"""No secret in any log line, and `-v` raises cxbot's own loggers only (SPEC §6)."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.adapter import SlackAdapter
from adapters.slack.oauth import SCOPES
from bot.app.logs import MASK, RedactingFilter, Redactor, configure_logging, configured_secrets
from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.interfaces.cli.main import main
from bot.messages import Target, TextMessage
from storage.engine import session_factory
from tests.adapters.slack.conftest import SECRET, slack_config
from tests.fakes.slack_api import FakeSlackAPI
from tests.support.world import World

BOT_TOKEN = "xoxb-4242424242-1717171717-NEWWORKSPACEtoken"
CLIENT_SECRET = "c1ient-secret-0f-the-app"
API_TOKEN = "the-api-token-value"
ENVIRON = {
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "SLACK_SIGNING_SECRET": SECRET,
    "CXBOT_API_TOKEN": API_TOKEN,
    "MICROSOFT_APP_PASSWORD": "p4ss/w+rd&more",
    "CXBOT_SECRET_KEY": "k3y-that-signs-links",
    "CXBOT_DATABASE_URL": "postgresql+asyncpg://cxbot:db-pass-word@db:5432/cxbot",
}
redact = Redactor(secrets=configured_secrets(ENVIRON))

# Lines in the shapes the libraries log them. slack_sdk's (3.47,
# slack_sdk/web/async_internal_utils.py `_request_with_session`) is an f-string of the answer's
# dict, so Python's repr; aiosqlite's (0.22, aiosqlite/core.py `_connection_worker_thread`) is
# `LOG.debug("executing %s", function)` with a functools.partial holding the SQL's parameters.
LEAKS = [
    # slack_sdk 3.47's webhook client (slack_sdk/webhook/async_client.py) at INFO when it
    # retries a response_url after a dropped connection; the URL's path is the credential.
    (
        "A retry handler found: ConnectionErrorRetryHandler for POST "
        "https://hooks.slack.com/actions/T0CXBOT01/5093713094961/Q3xAmPLeSecReT0kEn - "
        "ServerDisconnectedError",
        ["5093713094961/Q3xAmPLeSecReT0kEn"],
    ),
    (
        "Received the following response - status: 200, headers: {'Content-Type': "
        "'application/json'}, body: {'ok': True, 'app_id': 'A0CXBOT', 'access_token': "
        f"'{BOT_TOKEN}', 'token_type': 'bot', 'team': {{'id': 'T0SECOND'}}}}",
        [BOT_TOKEN, "NEWWORKSPACE"],
    ),
    (f'body: {{"ok": true, "access_token": "{BOT_TOKEN}"}}', [BOT_TOKEN]),
    (
        "executing functools.partial(<built-in method execute of sqlite3.Cursor object at "  # noqa: S608
        "0x7f3a>, 'INSERT INTO slack_bots (client_id, app_id, bot_token) VALUES (?, ?, ?)', "
        f"('111.222', 'A0CXBOT', '{BOT_TOKEN}'))",
        [BOT_TOKEN],
    ),
    ("user token xoxp-1111-2222-3333-abcdef and xoxa-2-abc", ["abcdef", "xoxa-2-abc"]),
    ("refresh xoxe-1-My0xLTEx and rotated xoxe.xoxp-1-Mi0yLTEx", ["My0xLTEx", "Mi0yLTEx"]),
    ("socket mode with xapp-1-A0123-4567-abcdef0123", ["A0123-4567", "abcdef0123"]),
    ("headers: {'Authorization': 'Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl'}", ["eyJhbGciOi"]),
    ("Authorization: bearer forged.jwt.token-value", ["forged.jwt"]),
    ("Authorization: Basic MTExLjIyMjpjbGllbnQtc2VjcmV0", ["MTExLjIy"]),
    ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig_nat-ure in text", ["eyJzdWIi", "sig_nat"]),
    ("data: client_id=111.222&client_secret=s3cr3tvalue&code=abc", ["s3cr3tvalue"]),
    ('{"client_secret": "other-secret", "client_id": "1"}', ["other-secret"]),
    ("{'refresh_token': 'r-123456', 'password': 'hunter22'}", ["r-123456", "hunter22"]),
    ("GET /slack/oauth_redirect?code=1234.5678.abcd&state=st-99 HTTP/1.1", ["1234.5678", "st-99"]),
    ("postgresql+asyncpg://cxbot:pw-in-url@db/cxbot failed", ["pw-in-url"]),
    (f"signature check with {SECRET} failed", [SECRET]),
    (f"x-api: {API_TOKEN}.", [API_TOKEN]),
    (f"a CLIENT secret in a sentence: {CLIENT_SECRET}!", [CLIENT_SECRET]),
    ("form body password=p4ss%2Fw%2Brd%26more", ["p4ss%2Fw%2Brd%26more", "p4ss"]),
    ("url-encoded p4ss%2Fw%2Brd%26more and plain p4ss/w+rd&more", ["p4ss"]),
    ("signing links with k3y-that-signs-links", ["k3y-that-signs"]),
    ("database db-pass-word refused", ["db-pass-word"]),
]


@pytest.mark.parametrize(("line", "secrets"), LEAKS)
def test_redactor_masks_every_secret(line: str, secrets: list[str]) -> None:
    masked = redact(line)
    assert MASK in masked
    for secret in secrets:
        assert secret not in masked


@pytest.mark.parametrize(
    "line",
    [
        "survey 42 for contact 7: cooldown",
        "{'ok': False, 'error': 'token_revoked'}",
        "'token_type': 'bot', 'scope': 'chat:write,commands'",
        "account acme: 3 responses, CSAT 67 %",
        "POST /slack/events 200 in 12 ms",
        "sqlite+aiosqlite:///./cxbot.db",
        "Bearer",
    ],
)
def test_redactor_leaves_ordinary_lines_alone(line: str) -> None:
    assert redact(line) == line


def test_a_short_secret_is_not_masked_everywhere() -> None:
    assert Redactor(secrets=["ab"])("a cab and a tab") == "a cab and a tab"


# Lines whose every hyphen or dot is a word boundary: a pattern tried from each of them
# backtracks quadratically (20 kB of `a-` once took 17 s).
@pytest.mark.parametrize("unit", ["a-", "a.", "x-secret-"])
def test_a_megabyte_line_is_redacted_in_linear_time(unit: str) -> None:
    # In a child process: a regex stuck in C holds the GIL, so no in-process timeout fires.
    script = (
        "from bot.app.logs import Redactor\n"
        f"Redactor(secrets=['hunter22secret'])({unit!r} * ({2**20} // {len(unit)}))\n"
    )
    root = Path(__file__).parents[3]
    subprocess.run([sys.executable, "-c", script], check=True, timeout=20, cwd=root)


def record(msg: object, *args: Any, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("slack_sdk.web", logging.DEBUG, __file__, 1, msg, args, exc_info)


def formatted(entry: logging.LogRecord) -> str:
    assert RedactingFilter(redact=redact).filter(entry) is True
    return logging.Formatter("%(message)s").format(entry)


def test_the_filter_masks_the_formatted_arguments() -> None:
    text = formatted(record("posting with %s to %r", BOT_TOKEN, {"client_secret": "zzz-top"}))
    assert BOT_TOKEN not in text and "zzz-top" not in text and "posting with xoxb-" in text


def test_the_filter_masks_tracebacks() -> None:
    try:
        raise RuntimeError(f"oauth failed for {BOT_TOKEN} with {CLIENT_SECRET}")
    except RuntimeError:
        entry = record("installation failed", exc_info=sys.exc_info())
    text = formatted(entry)
    assert "Traceback" in text and "RuntimeError" in text
    assert BOT_TOKEN not in text and CLIENT_SECRET not in text


def test_the_filter_masks_stack_info() -> None:
    entry = record("here")
    entry.stack_info = f'File "x.py", line 1, in f\n    post(token="{BOT_TOKEN}")'
    assert BOT_TOKEN not in formatted(entry)


class Unprintable:
    def __repr__(self) -> str:
        raise ValueError("no repr")

    def __str__(self) -> str:
        raise ValueError("no str")


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        (record("two %s %s", BOT_TOKEN), "two %s %s"),
        (record("a number %d", BOT_TOKEN), "a number %d"),
        (record("%s", Unprintable()), "<tuple>"),
        (record(Unprintable()), "could not be redacted"),
    ],
)
def test_the_filter_never_raises_on_bad_arguments(entry: logging.LogRecord, shown: str) -> None:
    text = formatted(entry)
    assert shown in text and BOT_TOKEN not in text


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """The real handler `main` installs (verbose), writing to a buffer; undone afterwards."""
    stream = io.StringIO()
    undo = configure_logging(verbose=True, environ=ENVIRON, stream=stream)
    yield stream
    undo()


def oauth_access(params: dict[str, Any]) -> dict[str, Any]:
    # The shape of Slack's oauth.v2.access answer (api.slack.com/methods/oauth.v2.access).
    return {
        "ok": True,
        "app_id": "A0CXBOT",
        "authed_user": {"id": "U0ADMIN02"},
        "scope": ",".join(SCOPES),
        "token_type": "bot",
        "access_token": BOT_TOKEN,
        "bot_user_id": "U0BOT2",
        "team": {"id": "T0SECOND", "name": "Second"},
        "enterprise": None,
        "is_enterprise_install": False,
    }


async def install_and_post(engine: AsyncEngine) -> None:
    """A real OAuth completion against the fake Slack API, then a post with the new token."""
    fake = FakeSlackAPI()
    fake.extend(methods={"oauth.v2.access": oauth_access}, routes=[])
    env = {"SLACK_CLIENT_ID": "111.222", "SLACK_API_URL": await fake.start(), **ENVIRON}
    settings = build_settings(env)
    world = World(sessions=session_factory(engine), config=parse_config(slack_config()))
    adapter = SlackAdapter(core=world.core, settings=settings, engine=engine)
    runtime = Runtime(core=world.core, adapters={"slack": adapter})
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(runtime, api_token=None, background=False))
    )
    await client.start_server()
    try:
        page = await client.get("/slack/install")
        state = re.search(r"state=([A-Za-z0-9-]+)", await page.text())
        assert state is not None
        done = await client.get(
            f"/slack/oauth_redirect?code=the-code&state={state.group(1)}",
            headers={"Cookie": f"slack-app-oauth-state={state.group(1)}"},
        )
        assert done.status == 200, await done.text()
        target = Target(platform="slack", channel_id="C0TEAM0002", workspace="T0SECOND")
        await adapter.post(target, TextMessage(text="hello"))
        assert fake.calls("chat.postMessage")[-1].token == BOT_TOKEN
    finally:
        await client.close()
        await fake.close()


def own_debug_lines() -> None:
    for name in ("bot.interfaces.cli.main", "adapters.slack.oauth", "storage.engine"):
        logging.getLogger(name).debug("own debug line of %s", name)


THIRD_PARTY = ("slack_sdk", "slack_bolt", "aiosqlite", "asyncpg", "sqlalchemy", "aiohttp")


def debug_lines_of(text: str, packages: tuple[str, ...]) -> list[str]:
    pattern = re.compile(rf" DEBUG ({'|'.join(packages)})\b")
    return [line for line in text.splitlines() if pattern.search(line)]


async def test_verbose_oauth_install_logs_cxbot_debug_but_no_library_debug(
    engine: AsyncEngine, log: io.StringIO
) -> None:
    await install_and_post(engine)
    own_debug_lines()
    text = log.getvalue()
    assert BOT_TOKEN not in text and CLIENT_SECRET not in text
    assert debug_lines_of(text, THIRD_PARTY) == []
    assert len(debug_lines_of(text, ("bot", "adapters", "storage"))) == 3


async def test_library_debug_asked_by_name_shows_with_every_secret_masked(
    engine: AsyncEngine,
) -> None:
    log = io.StringIO()
    undo = configure_logging(
        verbose=True,
        environ=ENVIRON,
        debug_loggers=("slack_sdk", "slack_bolt", "aiosqlite", "asyncpg"),
        stream=log,
    )
    try:
        await install_and_post(engine)
    finally:
        undo()
    text = log.getvalue()
    # The lines that carried the token are there (so it was masked, not missing)...
    assert any(f"'access_token': '{MASK}'" in line for line in text.splitlines())
    if engine.dialect.name == "sqlite":
        assert any("executing" in line and "slack_bots" in line for line in text.splitlines())
    # ...and no secret is.
    for secret in (BOT_TOKEN, "NEWWORKSPACE", CLIENT_SECRET, SECRET, API_TOKEN):
        assert secret not in text


def test_main_raises_only_cxbot_loggers_and_those_named(tmp_path: Path) -> None:
    seen: dict[str, int] = {}

    def capture() -> None:
        for name in ("bot", "adapters", "storage", "slack_sdk", "aiosqlite", "sqlalchemy.engine"):
            seen[name] = logging.getLogger(name).getEffectiveLevel()
        seen["filtered"] = any(
            isinstance(f, RedactingFilter) for h in logging.getLogger().handlers for f in h.filters
        )

    main.add_command(_probe(capture), "probe")
    try:
        result = CliRunner().invoke(main, ["-v", "--debug-logger", "aiosqlite", "probe"])
    finally:
        main.commands.pop("probe")
    assert result.exit_code == 0, result.output
    assert seen == {
        "bot": logging.DEBUG,
        "adapters": logging.DEBUG,
        "storage": logging.DEBUG,
        "slack_sdk": logging.INFO,
        "aiosqlite": logging.DEBUG,
        "sqlalchemy.engine": logging.WARNING,
        "filtered": True,
    }
    # Each run leaves logging as it found it.
    assert logging.getLogger("aiosqlite").level == logging.NOTSET
    assert not any(
        isinstance(f, RedactingFilter) for h in logging.getLogger().handlers for f in h.filters
    )


def _probe(callback: Any) -> click.Command:
    return click.command()(callback)
