"""The neutral message model and the `ChatAdapter` port (SPEC §5).

The core says *what* to show (a survey prompt, a thank-you, an alert); each adapter decides
*how* (Block Kit, an Adaptive Card, console text). Messages are pydantic models so that the
delivery queue can store them as JSON and rebuild them after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import groupby, pairwise
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

if TYPE_CHECKING:
    from aiohttp import web


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Names = dict[str, str]
"""Display names by platform user id, of people a message mentions or names, where the core
knows them (a contact's stored name, the name a platform gave for someone who acted). A
renderer whose platform shows mentions by id alone (Slack's `<@U…>`) needs none; one whose
mentions carry their text (Teams' `<at>Name</at>`) uses them, and a generic word without."""


class Target(_Frozen):
    """Where to post: a channel (optionally a thread in it), or a person's DM when
    `channel_id` is None. `mention_user_id` is who the message addresses."""

    platform: str
    channel_id: str | None = None
    thread_id: str | None = None
    user_id: str | None = None
    workspace: str | None = None
    """The platform's workspace (Slack team, Teams tenant), where one bot serves several."""

    @property
    def channel_key(self) -> str:
        """The pacing key: platforms limit posting per channel (or per DM)."""
        return f"{self.platform}:{self.channel_id or 'dm:' + (self.user_id or '?')}"


class MessageRef(_Frozen):
    """A posted message, as the platform identifies it, so it can be updated later."""

    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None = None
    workspace: str | None = None


class ScaleButton(_Frozen):
    score: int
    label: str | None = None


class SurveyPrompt(_Frozen):
    type: Literal["survey_prompt"] = "survey_prompt"
    survey_id: int
    metric: str
    locale: str
    question: str
    buttons: tuple[ScaleButton, ...]
    low_label: str
    high_label: str
    mention_user_id: str | None = None
    reminder: bool = False
    names: Names = Field(default_factory=dict)


class ThankYou(_Frozen):
    type: Literal["thank_you"] = "thank_you"
    survey_id: int
    metric: str
    locale: str
    score: int
    why_prompt: str
    reasons_saved: bool = False


class SurveyClosedNotice(_Frozen):
    type: Literal["survey_closed"] = "survey_closed"
    survey_id: int
    locale: str


class AlertCard(_Frozen):
    """A detractor alert for the account team. User-typed text (comment, names) is raw here;
    renderers escape it for their platform."""

    type: Literal["alert"] = "alert"
    alert_id: int
    kind: Literal["detractor", "no_response"] = "detractor"
    """A detractor's answer, or a key account that stopped answering (`summary` says how)."""
    locale: str = "en"
    status: str
    account_name: str
    contact_name: str = ""
    contact_user_id: str | None = None
    metric: str = ""
    score: int = 0
    scale_max: int = 0
    interaction: str = ""
    summary: str | None = None
    comment: str | None = None
    reasons: tuple[str, ...] = ()
    assignee: str | None = None
    acknowledged_by: str | None = None
    account_manager_user_id: str | None = None
    resolution: str | None = None
    notice: str | None = None
    """Why cxbot itself changed the alert (the customer's score left the detractor range)."""
    opened_at: datetime
    names: Names = Field(default_factory=dict)
    """Of the account manager, and of whoever acknowledged or was assigned the alert."""


class ReportRow(_Frozen):
    label: str
    n: int
    values: dict[str, str] = Field(default_factory=dict)


class ReportMessage(_Frozen):
    type: Literal["report"] = "report"
    title: str
    locale: str = "en"
    columns: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    note: str | None = None


class Verbatim(_Frozen):
    """A customer's comment as typed (renderers escape it), with its score."""

    account_name: str
    metric: str
    score: int
    text: str


class DigestMessage(_Frozen):
    """The weekly digest of a team channel."""

    type: Literal["digest"] = "digest"
    title: str
    period: str
    locale: str = "en"
    columns: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    open_alerts: int = 0
    overdue_alerts: int = 0
    best: tuple[Verbatim, ...] = ()
    worst: tuple[Verbatim, ...] = ()
    kudos: tuple[str, ...] = ()
    chart_png_base64: str | None = None


SpanStyle = Literal["strong", "code"]


class Span(_Frozen):
    """A piece of a text and how it reads: `strong` words stand out, `code` words are to be
    typed as shown (a command); each renderer shows them its platform's way. `typed`: the
    piece is a value filled in (what someone wrote, a name), escaped in full by renderers,
    while the catalogue's own words are written to read as they are."""

    text: str
    style: SpanStyle | None = None
    typed: bool = False


def emphasized(
    spans: tuple[Span, ...], *, escape: Callable[[Span], str], marks: Mapping[SpanStyle, str]
) -> str:
    """`spans` in a platform's markup: each run of one style escaped span by span and put
    between its mark (`marks["strong"]`, `marks["code"]`), with the run's outer whitespace
    outside the marks, where every markdown dialect needs it. A run whose text holds its
    own mark stays unmarked rather than break the markup."""
    out: list[str] = []
    for style, run in groupby(spans, key=lambda span: span.style):
        inner = "".join(escape(span) for span in run)
        mark = marks[style] if style else ""
        body = inner.strip()
        if not mark or not body or mark in inner:
            out.append(inner)
            continue
        start = len(inner) - len(inner.lstrip())
        out.append(f"{inner[:start]}{mark}{body}{mark}{inner[start + len(body) :]}")
    return "".join(out)


class TextMessage(_Frozen):
    """Plain text (renderers escape it), optionally addressed to people by user id.
    `styled` is the same text in spans with their emphasis, when it has any: renderers that
    can show emphasis use it, and `text` stays the plain reading (notifications, a console)."""

    type: Literal["text"] = "text"
    text: str
    mentions: tuple[str, ...] = ()
    names: Names = Field(default_factory=dict)
    styled: tuple[Span, ...] = ()

    @model_validator(mode="after")
    def _styled_reads_as_text(self) -> TextMessage:
        if self.styled and "".join(span.text for span in self.styled) != self.text:
            raise ValueError("the styled spans must read exactly as the text")
        return self

    @classmethod
    def of(cls, spans: tuple[Span, ...], *, mentions: tuple[str, ...] = ()) -> TextMessage:
        """The message of `spans`, its plain text their words."""
        return cls(text="".join(span.text for span in spans), mentions=mentions, styled=spans)


WEBHOOK_PLATFORM = "webhook"
"""The `platform` of deliveries to webhook endpoints (`webhooks:` in cxbot.yaml): their
adapter posts `WebhookEvent`s, signed, where chat adapters post messages."""


class WebhookEvent(_Frozen):
    """Something that happened, for a webhook endpoint rather than a chat (never rendered).
    `id` is the event's idempotency key: the same on every attempt to deliver it."""

    type: Literal["webhook_event"] = "webhook_event"
    id: str
    event: str
    occurred_at: datetime
    data: dict[str, Any]


class ReportFile(_Frozen):
    """A report's CSV file, offered to the person who asked for it after the report itself.
    It holds no file: the report command's `args`, who asked (`asked_by`, a user id), in
    which language and when, so the file is made again, with the asker's permissions of
    that moment, when they take it (Teams asks their consent first); `name` and `size`
    (bytes) are what the offer shows."""

    type: Literal["report_file"] = "report_file"
    args: str
    asked_by: str
    locale: str = "en"
    asked_at: datetime
    name: str
    size: int


Message = Annotated[
    SurveyPrompt
    | ThankYou
    | SurveyClosedNotice
    | AlertCard
    | ReportMessage
    | DigestMessage
    | TextMessage
    | WebhookEvent
    | ReportFile,
    Field(discriminator="type"),
]
MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


# The one timeout of every platform call (a Slack Web API call, a Bot Framework connector
# call), part of the port's contract: an adapter gives up on a call after this many seconds,
# so that a call never outlasts its delivery's lease (`cxbot serve` refuses a lease shorter
# than `bot.delivery.worker.CALL_BUDGET`).
PLATFORM_CALL_TIMEOUT = 15.0


class ChatAdapter(Protocol):
    """The port every chat platform implements; the core never imports a platform SDK."""

    platform: ClassVar[str]

    def mount(self, app: web.Application) -> None:
        """Add the adapter's webhook route(s) to the bot's aiohttp application."""

    async def post(self, target: Target, message: Message) -> MessageRef:
        """Post; raise `bot.errors.DeliveryError` (with `retry_after` when the platform
        says so) on failure."""

    async def update(self, ref: MessageRef, message: Message) -> None:
        """Replace a posted message in place."""

    async def aclose(self) -> None:
        """Release connections."""


@runtime_checkable
class FindsOwnPosts(Protocol):
    """What an adapter adds to `ChatAdapter` when its platform can tell whether a post
    already landed: posts tagged with the delivery they fulfil, found again by that tag.

    The delivery worker uses it for a post that an earlier attempt may have made (a worker
    killed mid-call, a call that timed out but landed): found, the item is settled with that
    message instead of being posted twice. Adapters without it stay at least once.
    """

    async def post_tagged(
        self, target: Target, message: Message, *, delivery_id: int
    ) -> MessageRef:
        """Post like `ChatAdapter.post`, marking the message with `delivery_id`."""

    async def find_tagged(
        self, target: Target, *, delivery_id: int, since: datetime
    ) -> MessageRef | None:
        """The message posted for `delivery_id` at `target` since `since`, or None when there
        is none. Raise `DeliveryError` when the platform cannot answer now (it is retried)."""


def split(message: Message, parts: int, *, numbered: bool = True) -> tuple[Message, ...]:
    """`message` as up to `parts` messages that, read in order, show all of it (for a
    platform that refuses it whole as too large): the table rows spread evenly, each part
    under the title, numbered "(2/3)" unless not `numbered` (a part split again keeps its
    number). A report's note comes last; so does a digest itself, with its last rows, counts,
    verbatims and chart, after parts of its table only. A digest down to one row gives up
    its chart image. () when nothing can be split off (one row, or no table)."""
    if not isinstance(message, ReportMessage | DigestMessage):
        return ()
    if len(message.rows) < 2:
        chart = isinstance(message, DigestMessage) and message.chart_png_base64
        return (message.model_copy(update={"chart_png_base64": None}),) if chart else ()
    chunks = _chunks(message.rows, max(2, min(parts, len(message.rows))))
    marks = [f" ({i}/{len(chunks)})" if numbered else "" for i in range(1, len(chunks) + 1)]
    if isinstance(message, ReportMessage):
        notes = [None] * (len(chunks) - 1) + [message.note]
        return tuple(
            message.model_copy(update={"title": message.title + mark, "rows": rows, "note": note})
            for rows, mark, note in zip(chunks, marks, notes, strict=True)
        )
    heading = f"{message.title} · {message.period}"
    tables = [
        ReportMessage(
            title=heading + mark, locale=message.locale, columns=message.columns, rows=rows
        )
        for rows, mark in zip(chunks[:-1], marks, strict=False)
    ]
    last = message.model_copy(update={"rows": chunks[-1], "period": message.period + marks[-1]})
    return (*tables, last)


def _chunks(rows: Sequence[ReportRow], count: int) -> list[tuple[ReportRow, ...]]:
    """`rows` in `count` runs in order, the longer ones first, differing by one row at most."""
    size, longer = divmod(len(rows), count)
    bounds = [index * size + min(index, longer) for index in range(count + 1)]
    return [tuple(rows[start:end]) for start, end in pairwise(bounds)]


def parts_to_fit(message: Message, fits: Callable[[Message], bool]) -> int:
    """How many parts to `split` `message` into so that each `fits` one platform message
    (few, found by bisection): 1 when it fits whole, or when not even one row a part would
    fit; then the platform has the last word."""
    if fits(message):
        return 1

    def all_fit(count: int) -> bool:
        pieces = split(message, count)
        return bool(pieces) and all(fits(piece) for piece in pieces)

    low = 2
    high = len(message.rows) if isinstance(message, ReportMessage | DigestMessage) else 0
    if high < low or not all_fit(high):
        return 1
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if all_fit(middle) else (middle + 1, high)
    return high
