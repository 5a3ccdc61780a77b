"""Slack Web API failures as `DeliveryError`s: the one table of Slack error codes and what
the delivery queue does about each (README "When a platform call fails",
docs/platform-faults.md).

The codes are those Slack documents for the calls the queue makes: chat.postMessage,
chat.update, conversations.open, conversations.history/replies and the files.upload_v2
steps (files.getUploadURLExternal, files.completeUploadExternal). A code missing here is
taken as transient: retried with backoff, and dead-lettered after the policy's last attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.errors import DeliveryError, FailureKind, HoldScope, retry_after_seconds

_ADMIN = (FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE)
_CHANNEL = (FailureKind.NEEDS_ADMIN, HoldScope.CHANNEL)
_GONE = (FailureKind.PERMANENT, None)
_SMALLER = (FailureKind.TOO_LARGE, None)

# Error code -> (kind, hold scope). Rate limits and 5xx are decided by the HTTP status.
CODES: Mapping[str, tuple[FailureKind, HoldScope | None]] = MappingProxyType(
    {
        # The token, the installation or the app's grants: nothing in the workspace can go
        # out until someone reinstalls the app (or an admin lifts a restriction).
        "not_authed": _ADMIN,
        "invalid_auth": _ADMIN,
        "token_revoked": _ADMIN,
        "token_expired": _ADMIN,
        "account_inactive": _ADMIN,  # the token's owner (the bot user) was deactivated
        "missing_scope": _ADMIN,
        "no_permission": _ADMIN,
        "not_allowed_token_type": _ADMIN,
        "team_access_not_granted": _ADMIN,
        "ekm_access_denied": _ADMIN,
        "access_denied": _ADMIN,
        "accesslimited": _ADMIN,
        "enterprise_is_restricted": _ADMIN,
        "org_login_required": _ADMIN,
        "two_factor_setup_required": _ADMIN,
        "messages_tab_disabled": _ADMIN,  # the app's Messages tab: DMs to anyone fail
        "not_installed": _ADMIN,  # ours: no installation for the workspace (OAuth mode)
        # This conversation will not let the bot in or post: someone must invite it, or an
        # admin change the channel's posting settings.
        "not_in_channel": _CHANNEL,
        "restricted_action": _CHANNEL,
        "restricted_action_read_only_channel": _CHANNEL,
        "restricted_action_thread_only_channel": _CHANNEL,
        "restricted_action_non_threadable_channel": _CHANNEL,
        "team_not_connected": _CHANNEL,  # a Slack Connect channel the workspace left
        # This target (or this message) can never be delivered: give the item up.
        "channel_not_found": _GONE,
        "is_archived": _GONE,
        "is_inactive": _GONE,
        "user_not_found": _GONE,
        "users_not_found": _GONE,
        "user_disabled": _GONE,
        "user_not_visible": _GONE,
        "cannot_dm_bot": _GONE,
        "thread_not_found": _GONE,
        "message_not_found": _GONE,
        "cant_update_message": _GONE,
        "edit_window_closed": _GONE,
        # Too much for one message (`adapters.slack.sizes`): a report or digest post is sent
        # again in smaller parts; anything else (an update) cannot be, and fails.
        "msg_too_long": _SMALLER,
        "msg_blocks_too_long": _SMALLER,
        "no_text": _GONE,
        "invalid_blocks": _GONE,
        "invalid_blocks_format": _GONE,
        "invalid_attachments": _GONE,
        "too_many_attachments": _GONE,
        "invalid_metadata_format": _GONE,
        "invalid_metadata_schema": _GONE,
        "metadata_too_large": _GONE,
        "invalid_arguments": _GONE,
        "invalid_arg_name": _GONE,
        "invalid_array_arg": _GONE,
        "invalid_charset": _GONE,
        "invalid_form_data": _GONE,
        "invalid_post_type": _GONE,
        "missing_post_type": _GONE,
        "method_deprecated": _GONE,
        "deprecated_endpoint": _GONE,
        "not_a_target": _GONE,  # ours: a target with neither channel nor user
    }
)
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})


def as_delivery_error(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    # slack_sdk puts its own answer here, or, for a body that is not JSON, the raw aiohttp
    # response (which has `status`, not `status_code`, and no `.get`).
    data = getattr(response, "data", None)
    answer = data if isinstance(data, dict) else {}
    status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
    code = answer.get("error")
    if status == 429 or code in RATE_LIMITED:
        retry_after = _retry_after(getattr(response, "headers", {}) or {})
        return DeliveryError(f"slack: ratelimited ({code})", retry_after=retry_after)
    if not isinstance(code, str):
        # Not Slack's own answer (a proxy's HTML page, a body cut short): nothing says the
        # call was not carried out.
        return DeliveryError(f"slack: unreadable answer (HTTP {status})", maybe_delivered=True)
    kind, scope = CODES.get(code, (FailureKind.TRANSIENT, None))
    needed = answer.get("needed")
    detail = f" (needs {needed})" if needed else ""
    return DeliveryError(
        f"slack: {code} (HTTP {status}){detail}",
        kind=kind,
        scope=scope,
        reason=code,
        # A 5xx (or Slack's own internal_error) may come after Slack carried the call out;
        # a 4xx or any other `ok: false` says it did not.
        maybe_delivered=status >= 500 or code in {"internal_error", "fatal_error"},
    )


def refused(code: str, message: str) -> DeliveryError:
    """A failure cxbot itself finds before calling Slack, classified by the same table."""
    kind, scope = CODES[code]
    return DeliveryError(f"slack: {message}", kind=kind, scope=scope, reason=code)


def _retry_after(headers: Any) -> float:
    return retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after"))
