"""A signed Slack request with bad input is a 400 and one INFO line, never an ERROR with a
traceback (bolt's own default handler logs every listener error with `logger.exception`).

The payloads are bolt-python's documented shapes (tests/payloads/slack) with one value out
of what Slack sends."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.slack.conftest import SlackWorld
from tests.fakes.slack_signing import interactivity_body, load_payload
from tests.support.refusals import one_info_line

REFUSED = "Slack request"


async def test_a_click_with_a_value_slack_never_sends_is_400_and_an_info_line(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    payload = load_payload("block_actions_score", actions__0__value="1:x")
    with caplog.at_level(logging.INFO):
        response = await slack.signed(interactivity_body(payload))
    assert response.status == 400
    assert "not an id" in one_info_line(caplog, saying=REFUSED)


async def test_a_signed_body_that_is_not_json_is_400_and_an_info_line(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await slack.signed("payload=%7Bnot-json")
    assert response.status == 400
    assert one_info_line(caplog, saying=REFUSED)
