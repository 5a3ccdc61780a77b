"""`connectors:`, `webhooks:` and the accounts' connector ids in cxbot.yaml: what a wrong
file says at start-up, and where the secrets come from."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.app.logs import Redactor, configured_secrets
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.errors import ConfigError
from tests.core.connectors.conftest import connectors_config


def _with(change: dict[str, Any]) -> dict[str, Any]:
    config = connectors_config()
    for key, value in change.items():
        config[key] = value
    return config


def _account_change(**fields: Any) -> dict[str, Any]:
    config = connectors_config()
    config["accounts"][1].update(fields)
    return config


WRONG = [
    ("a domain in two accounts", _account_change(email_domains=["ACME.fi"]), "e-mail domain"),
    (
        "an id in two accounts",
        _account_change(connector_ids={"zendesk": "acme-org-1"}),
        "zendesk id in connector_ids",
    ),
    ("a secret's value in place of its variable", _with({}), "secret_env"),
    ("a generic source named as a vendor", _with({}), "built-in connector"),
    ("a path that is not one", _with({}), "map.email: a path starts with"),
    ("a webhook URL that is not one", _with({"webhooks": [{"name": "crm", "url": "crm"}]}), "URL"),
    (
        "an unknown event",
        _with({"webhooks": [{"name": "crm", "url": "https://x.example", "events": ["x"]}]}),
        r"webhooks\[0\]\.events\[0\]: Input should be .response.created.",
    ),
    (
        "two webhooks of one name",
        _with({"webhooks": [{"name": "a", "url": "https://x.example"}] * 2}),
        "duplicate webhook name",
    ),
]
WRONG[2][1]["connectors"]["zendesk"]["secret_env"] = "s3cr3t-value"
WRONG[3][1]["connectors"]["generic"][0]["name"] = "zendesk"
WRONG[4][1]["connectors"]["generic"][0]["map"]["email"] = "attendees[0].email"


@pytest.mark.parametrize(("why", "config", "said"), WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_connector_config_is_refused_with_where(
    why: str, config: dict[str, Any], said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        parse_config(copy.deepcopy(config))


def test_connector_ids_take_one_id_or_several_and_numbers() -> None:
    config = parse_config(connectors_config())
    acme = config.account("acme")
    assert acme is not None
    assert acme.connector_ids["hubspot"] == ("9876543210",)
    assert acme.connector_ids["jira"] == ("3",)
    assert acme.email_domains == ("acme.fi",)


def test_the_secrets_come_from_the_variables_the_config_names() -> None:
    config = parse_config(
        _with({"webhooks": [{"name": "crm", "url": "https://crm.example/hooks"}]})
    )
    names = config.secret_names()
    assert names[-1] == "CXBOT_SECRET_KEY" and "ZENDESK_WEBHOOK_SECRET" in names
    environ = {name: f"value-of-{name}" for name in names}
    settings = build_settings(environ)
    assert settings.secrets(names)["ZENDESK_WEBHOOK_SECRET"] == "value-of-ZENDESK_WEBHOOK_SECRET"
    assert "value-of" not in repr(settings)
    unset = build_settings({k: v for k, v in environ.items() if k != "JIRA_WEBHOOK_SECRET"})
    with pytest.raises(ConfigError, match="JIRA_WEBHOOK_SECRET, which is not set"):
        unset.secrets(names)


def test_no_log_line_shows_a_secret_the_config_names() -> None:
    environ = {"ZENDESK_WEBHOOK_SECRET": "zd-signing-secret-123", "PATH": "/usr/bin"}
    redact = Redactor(secrets=configured_secrets(environ))
    assert redact("checked with zd-signing-secret-123") == "checked with [redacted]"
    assert "/usr/bin" in redact("PATH is /usr/bin")
