"""Block Kit action ids, callback ids and value encodings, shared by the renderers and the
Slack request handlers, so a button and the handler for its click cannot drift apart.

Everything a click or a modal submission sends back (values, block ids, private metadata)
arrives in a request body and is treated as untrusted, even though Slack signs it: the parse
helpers accept exactly what the renderers write and raise ValueError on anything else, so a
forged or garbled payload becomes a clean 400, never a crash or a wrong row.
"""

from __future__ import annotations

import json
import re

# Survey answers: one button per score in a block named after the survey.
SURVEY_BLOCK_PREFIX = "cx_survey:"
SCORE_ACTION_PREFIX = "cx_score:"
WHY_ACTION = "cx_why"

# The "tell us why" modal.
WHY_MODAL = "cx_why_modal"
REASONS_BLOCK = REASONS_ACTION = "reasons"
COMMENT_BLOCK = COMMENT_ACTION = "comment"
COMMENT_MAX_LENGTH = 3000

# Alert actions: buttons carry the alert id as value; the actions block is named after it too
# (a users_select has no value of its own).
ALERT_BLOCK_PREFIX = "cx_alert:"
ALERT_ACK_ACTION = "cx_alert_ack"
ALERT_ASSIGN_ACTION = "cx_alert_assign"
ALERT_RESOLVE_ACTION = "cx_alert_resolve"

# The resolve modal.
RESOLVE_MODAL = "cx_resolve_modal"
OUTCOME_BLOCK = OUTCOME_ACTION = "outcome"
NOTE_BLOCK = NOTE_ACTION = "note"
NOTE_MAX_LENGTH = 3000
NOTIFY_BLOCK = NOTIFY_ACTION = "notify"
NOTIFY_VALUE = "notify"

SURVEY_ID_KEY = "survey_id"
ALERT_ID_KEY = "alert_id"

# ASCII digits only: int() would also take "+1", " 1", "1_0" and non-ASCII digits.
_DIGITS = re.compile(r"[0-9]+")
# Slack caps private_metadata at 3000 characters; refusing longer input before json.loads
# also bounds the nesting depth an attacker can make the parser recurse into.
_METADATA_MAX = 3000


def survey_block_id(survey_id: int) -> str:
    return f"{SURVEY_BLOCK_PREFIX}{survey_id}"


def score_action_id(score: int) -> str:
    return f"{SCORE_ACTION_PREFIX}{score}"


def score_value(survey_id: int, score: int) -> str:
    return f"{survey_id}:{score}"


def alert_block_id(alert_id: int) -> str:
    return f"{ALERT_BLOCK_PREFIX}{alert_id}"


def metadata(key: str, value: int) -> str:
    """A view's private_metadata: `{"<key>": value}` as compact JSON."""
    return json.dumps({key: value}, separators=(",", ":"))


# Ids are database integers: anything larger is not one of ours (and would overflow).
_MAX_ID = 2**31 - 1


def parse_id(value: str) -> int:
    """A non-negative integer written as ASCII digits (a survey or alert id in a value)."""
    if not isinstance(value, str) or _DIGITS.fullmatch(value) is None or len(value) > 10:
        raise ValueError(f"not an id: {value!r:.40}")
    number = int(value)
    if number > _MAX_ID:
        raise ValueError(f"not an id: {value!r:.40}")
    return number


def parse_score_value(value: str) -> tuple[int, int]:
    """(survey_id, score) from a score button's value "<survey_id>:<score>"."""
    if not isinstance(value, str):
        raise ValueError("a score value must be a string")
    parts = value.split(":")
    if len(parts) != 2:
        raise ValueError(f"malformed score value: {value!r:.40}")
    return parse_id(parts[0]), parse_id(parts[1])


def parse_prefixed_id(text: str, prefix: str) -> int:
    """The id after `prefix` in a block id such as "cx_alert:42"."""
    if not isinstance(text, str) or not text.startswith(prefix):
        raise ValueError(f"expected {prefix!r}…, got {text!r:.40}")
    return parse_id(text[len(prefix) :])


def parse_metadata(text: str, key: str) -> int:
    """The integer under `key` in a view's private_metadata JSON object."""
    if not isinstance(text, str) or len(text) > _METADATA_MAX:
        raise ValueError("private_metadata is not a string of at most 3000 characters")
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("private_metadata is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("private_metadata is not a JSON object")
    found = data.get(key)
    # bool is an int subclass: `true` must not read as id 1.
    if not isinstance(found, int) or isinstance(found, bool) or not 0 <= found <= _MAX_ID:
        raise ValueError(f"private_metadata has no id under {key!r}")
    return found
