"""Jira Service Management: an admin webhook (System > WebHooks, event "Issue updated",
with a secret) whose `jira:issue_updated` moves the issue to a done status. Signed as
Atlassian documents for admin webhooks with a secret
(developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks):
`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.

The customer is the issue's reporter (Jira Cloud shows their `emailAddress` to the webhook
only when their profile lets it); the account is found by the request's organisations
(Jira Service Management's Organizations field, `organization_field`) or the e-mail domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig, JiraConfig
from bot.connectors import paths, signing
from bot.connectors.incoming import Ignored, Incoming, Person, Request, metadata


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    return signing.hex_matches(
        request.header("X-Hub-Signature"), secret=secret, message=request.body, prefix="sha256="
    )


def read(
    payload: Any, request: Request, config: ConnectorConfig, now: datetime
) -> Incoming | Ignored:
    event = paths.need(payload, "$.webhookEvent")
    if event != "jira:issue_updated":
        return Ignored(f"{event} is not an issue update")
    moved_to = _new_status(payload)
    if moved_to is None or not _done(payload, moved_to, config):
        return Ignored(f"the issue did not move to a done status ({moved_to or 'no change'})")
    fields = "$.issue.fields"
    return Incoming(
        external_id=paths.need(payload, "$.issue.id"),
        kind=config.kind,
        occurred_at=_resolved_at(payload, now),
        person=Person(
            email=paths.need_email(payload, f"{fields}.reporter.emailAddress"),
            name=paths.text(payload, f"{fields}.reporter.displayName"),
        ),
        account_ids=_organizations(payload, config),
        owner=paths.email(payload, f"{fields}.assignee.emailAddress"),
        metadata=metadata(key=paths.text(payload, "$.issue.key"), status=moved_to),
    )


def _new_status(payload: Any) -> str | None:
    """The status this update moved the issue to, from its changelog."""
    items = paths.find(payload, "$.changelog.items")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and (item.get("fieldId") or item.get("field")) == "status":
            return paths.text(item, "$.toString")
    return None


def _done(payload: Any, status: str, config: ConnectorConfig) -> bool:
    statuses = config.statuses if isinstance(config, JiraConfig) else ()
    if statuses:
        return status.casefold() in {s.casefold() for s in statuses}
    category = paths.text(payload, "$.issue.fields.status.statusCategory.key")
    return category == "done"


def _resolved_at(payload: Any, now: datetime) -> datetime:
    if paths.find(payload, "$.issue.fields.resolutiondate"):
        return paths.instant(payload, "$.issue.fields.resolutiondate", default=now)
    return paths.instant(payload, "$.timestamp", default=now)


def _organizations(payload: Any, config: ConnectorConfig) -> tuple[str, ...]:
    """The organisations' ids and names (an organisation is `{"id", "name"}`)."""
    field = config.organization_field if isinstance(config, JiraConfig) else "customfield_10002"
    value = paths.find(payload, f"$.issue.fields.{field}")
    found: list[str] = []
    for org in value if isinstance(value, list) else []:
        if isinstance(org, dict):
            found += [t for key in ("id", "name") if (t := paths.text(org, f"$.{key}"))]
        elif isinstance(org, str | int) and not isinstance(org, bool) and str(org).strip():
            found.append(str(org).strip())
    return tuple(found)
