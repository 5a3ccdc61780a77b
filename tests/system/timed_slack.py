"""The fake Slack Web API, noting when and how it answered each call, with stalls that
outlast the client's timeout, and reading surveys and digests out of what it accepted.

Why a subclass: `FakeSlackAPI.calls()` has no timestamps and no answers, and the system
tests must check per-channel pacing (one message per second) and that a faulty answer
(429, 500, a stall) was really given. It overrides the fake's one private `_answer` step;
adding `received`, `at` and `status` to `tests/fakes/slack_api.Call`, and a `stall` that
answers without consuming the queued answers, would let this file go.

Why `stall` and not `add_delay` + `add_response`: the fake takes a call's canned answer
after its delay, so a stalled call gets whichever answer is next *when the stall ends*, not
the one queued for it; a stall must say itself what it ends with.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_api import Call, FakeSlackAPI

POST = "chat.postMessage"
UPDATE = "chat.update"
SURVEY_BLOCK = "cx_survey:"


@dataclass(frozen=True)
class Answered:
    """One call and the answer the fake gave it: monotonic times of its arrival and answer;
    `late` when it was carried out after a stall that outlasted the client's timeout."""

    received: float
    at: float
    call: Call
    status: int
    ok: bool
    late: bool = False

    @property
    def channel(self) -> str:
        return str(self.call.params.get("channel", ""))

    @property
    def survey_id(self) -> int | None:
        return survey_id_of(self.call.params)


def survey_id_of(params: dict[str, Any]) -> int | None:
    """The survey whose score buttons a chat.postMessage carries (None for other messages)."""
    blocks = params.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block_id.startswith(SURVEY_BLOCK):
            return int(block_id.removeprefix(SURVEY_BLOCK))
    return None


class TimedSlackAPI(FakeSlackAPI):
    """`FakeSlackAPI` plus `answered`: every call's answer, in the order they were given."""

    def __init__(self) -> None:
        # Message ts follow real time, as Slack's do: the replicas read history since a
        # delivery's first attempt.
        super().__init__(clock=time.time)
        self.answered: list[Answered] = []
        self._stalls: defaultdict[str, deque[tuple[float, int | None]]] = defaultdict(deque)

    def stall(self, method: str, seconds: float, *, status: int | None, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds`, then answer `status` with
        `request_timeout` (the call was not carried out), or carry it out when `status` is
        None (Slack did post, only too late for the client). Stalls go first, before the
        fake's own queued delays and answers, which they leave alone."""
        self._stalls[method].extend([(seconds, status)] * times)

    async def _answer(
        self, call: Call, default: Callable[[Call], web.StreamResponse]
    ) -> web.StreamResponse:
        received = time.monotonic()
        late = False
        if self._stalls[call.method]:
            seconds, status = self._stalls[call.method].popleft()
            await asyncio.sleep(seconds)
            late = status is None
            response = default(call) if late else _timed_out(status or 504)
        else:
            response = await super()._answer(call, default)
        ok = _ok(response)
        self.answered.append(Answered(received, time.monotonic(), call, response.status, ok, late))
        return response

    def accepted(self, method: str = POST) -> list[Answered]:
        """The calls of `method` that Slack would have carried out (200 and `ok: true`)."""
        return [a for a in self.answered if a.call.method == method and a.ok]

    def refused(self, method: str = POST) -> list[Answered]:
        return [a for a in self.answered if a.call.method == method and not a.ok]

    def survey_posts(self) -> list[Answered]:
        return [a for a in self.accepted(POST) if a.survey_id is not None]

    def survey_counts(self) -> Counter[int]:
        """How many times each survey's prompt was posted."""
        return Counter(a.survey_id for a in self.survey_posts() if a.survey_id is not None)

    def posts_to(self, channels: Iterable[str]) -> Counter[str]:
        wanted = set(channels)
        return Counter(a.channel for a in self.accepted(POST) if a.channel in wanted)

    def received_survey_ids(self) -> set[int]:
        """Surveys whose prompt reached the fake, answered yet or not (stalled calls too)."""
        found = (survey_id_of(c.params) for c in self.calls(POST))
        return {s for s in found if s is not None}


def _timed_out(status: int) -> web.Response:
    return web.json_response({"ok": False, "error": "request_timeout"}, status=status)


def message_key(answered: Answered) -> str:
    """What a post delivers: its survey, else (a digest) its channel."""
    survey = answered.survey_id
    return f"survey:{survey}" if survey is not None else f"channel:{answered.channel}"


def _ok(response: web.StreamResponse) -> bool:
    if response.status != 200 or not isinstance(response, web.Response) or response.text is None:
        return False
    try:
        return json.loads(response.text).get("ok") is True
    except (ValueError, AttributeError):
        return False


def pacing_problems(
    posts: Iterable[Answered], *, pace: float = 1.0, tolerance: float = 0.5
) -> list[str]:
    """How the messages that arrived in each channel break "one per `pace` seconds".

    Replicas pace a channel when they claim its items, but a message arrives when its call
    does, and a busy machine puts up to a few hundred milliseconds between the two; so two
    neighbours may come closer than `pace`. What may not happen: a channel's messages
    arriving faster than the pace over their whole run, two at nearly the same moment, or
    a burst of them.
    """
    problems = []
    for channel, stamps in _arrivals(posts).items():
        span, count = stamps[-1] - stamps[0], len(stamps)
        if span < (count - 1) * pace - tolerance:
            problems.append(f"{channel}: {count} messages within {span:.2f} s")
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        if gaps and min(gaps) < pace / 4:
            problems.append(f"{channel}: two messages {min(gaps):.3f} s apart")
        if most_in_window(stamps, 2 * pace) > 3:
            problems.append(f"{channel}: more than 3 messages within {2 * pace:.0f} s")
    return problems


def closest_gap(posts: Iterable[Answered]) -> float:
    """The shortest time between two messages arriving in one channel."""
    gaps = [b - a for stamps in _arrivals(posts).values() for a, b in itertools.pairwise(stamps)]
    return min(gaps, default=float("inf"))


def _arrivals(posts: Iterable[Answered]) -> dict[str, list[float]]:
    """Per channel, the sorted arrival times of its messages (as Slack's limit counts them)."""
    times: defaultdict[str, list[float]] = defaultdict(list)
    for post in posts:
        times[post.channel].append(post.received)
    return {channel: sorted(stamps) for channel, stamps in times.items()}


def most_in_window(stamps: list[float], seconds: float) -> int:
    """The most of the sorted `stamps` within any `seconds`-long window."""
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
