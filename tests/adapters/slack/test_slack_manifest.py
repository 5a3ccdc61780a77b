"""The app manifest promises what the code handles (and the other way round)."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack import ids
from adapters.slack.adapter import EVENTS_PATH
from adapters.slack.handlers_ask import SHORTCUT

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yaml"


def manifest() -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load(MANIFEST.read_text()))


def test_every_request_url_is_the_one_events_path() -> None:
    data = manifest()
    urls = [
        data["settings"]["interactivity"]["request_url"],
        data["settings"]["event_subscriptions"]["request_url"],
        *(c["url"] for c in data["features"]["slash_commands"]),
    ]
    assert {url.removeprefix("https://cxbot.example.com") for url in urls} == {EVENTS_PATH}


def test_the_command_and_shortcut_match_the_handlers() -> None:
    features = manifest()["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/cx"]
    assert features["slash_commands"][0]["should_escape"] is True
    assert [s["callback_id"] for s in features["shortcuts"]] == [SHORTCUT]
    assert ids.WHY_MODAL and ids.RESOLVE_MODAL  # modals need no manifest entry


def test_scopes_cover_what_the_bot_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "users:read", "files:write"} <= scopes
