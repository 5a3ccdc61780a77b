"""The demo's sample world: three accounts and their people, a day's interactions, and the
simulation that answers surveys the way each account's customers would."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.console.adapter import ConsoleAdapter
from bot.alerts import workflow
from bot.config.schema import Config, parse_config
from bot.config.types import PersonRef
from bot.core import Core
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.domain.questions import DRIVERS
from bot.domain.scoring import Metric, is_detractor, score_range
from bot.errors import SurveyClosed
from bot.messages import Message, MessageRef, SurveyPrompt, Target
from bot.surveys import answers, intake, timeline
from bot.surveys.schemas import ContactCreate, InteractionCreate, Where
from storage.engine import Sessions

WEEKS = 12
CONSOLE_LIMIT = 12
# UTC hours of each weekday's two rounds, inside the send windows of Helsinki and London, and
# of New York. Nothing happens at weekends: Monday's rounds catch up on reminders and expiry.
STEP_HOURS = (11, 17)
CHART_NAME = "cxbot-demo-trend.png"
EXECUTIVES = 2  # the last two people of an account are its decision makers, asked NPS only

# key: name, locale, time zone, tier, service quality (0..1) in the first and last week, people
_ACCOUNTS: dict[str, tuple[str, str, str, str, float, float, str]] = {
    "aurora": ("Aurora Logistics Oy", "fi", "Europe/Helsinki", "key", 0.35, 0.9,
               "Aino Virtanen, Juha Korhonen, Leena Mäkinen, Mikko Nieminen, Sanna Laine, "
               "Timo Heikkinen, Elina Koskinen, Ville Järvinen, Kaisa Lehtonen, Pekka Saarinen"),
    "brightwave": ("Brightwave Retail", "en", "Europe/London", "growth", 0.9, 0.4,
                   "Olivia Hughes, Harry Patel, Amelia Clarke, George Evans, Isla Wright, "
                   "Jack Turner, Sophie Hall, Oscar Wood, Charlotte Green, William Baker"),
    "cobalt": ("Cobalt Health", "en", "America/New_York", "standard", 0.75, 0.75,
               "Emma Johnson, Liam Rodriguez, Ava Martinez, Noah Kim, Mia Thompson, "
               "Ethan Brooks, Lucas Gray, Chloe Bell, Sophia Reed, James Carter"),
}  # fmt: skip
_KINDS = {"support_ticket": 0.4, "meeting": 1, "delivery": 1, "training": 0.3}
_COMMENTS = {  # locale: (a detractor's comments, anyone else's)
    "en": (("It took three days to get a reply.", "We had to explain it twice."),
           ("Quick and friendly, thanks!", "Sorted on the first try.")),
    "fi": (("Vastausta piti odottaa kolme päivää.", "Jouduimme selittämään kahdesti."),
           ("Nopeaa ja ystävällistä palvelua!", "Ratkesi heti ensimmäisellä kerralla.")),
}  # fmt: skip


def demo_config() -> Config:
    """Three accounts with console team channels; programs with the default delay, send
    window, reminder and expiry. The cooldown is 3 days instead of 7: a demo account has
    eight people, and a week with one answer each would be too few for a weekly chart."""
    programs = [
        {"name": "support", "kinds": ["support_ticket"], "metric": "ces", "cooldown": "3d"},
        {"name": "service", "kinds": list(_KINDS)[1:], "metric": "csat", "cooldown": "3d"},
        {"name": "relationship", "kinds": ["business_review"], "metric": "nps", "delay": "1h"},
    ]
    accounts = [_account(key) for key in _ACCOUNTS]
    return parse_config({"vendor": "Northwind", "accounts": accounts, "programs": programs})


def _account(key: str) -> dict[str, Any]:
    name, locale, timezone, tier, *_ = _ACCOUNTS[key]
    console = {"platform": "console"}
    return {
        "key": key, "name": name, "tier": tier, "locale": locale, "timezone": timezone,
        "team_channel": console | {"channel_id": f"{key}-team"},
        "account_manager": console | {"user_id": f"{key}-am"},
        "customer_channels": [console | {"channel_id": f"{key}-shared"}],
    }  # fmt: skip


def people(key: str) -> list[ContactCreate]:
    """The account's contacts on the console; the last `EXECUTIVES` are decision makers."""
    names = _ACCOUNTS[key][6].split(", ")
    roles = ["end_user"] * (len(names) - EXECUTIVES) + ["decision_maker"] * EXECUTIVES
    return [
        ContactCreate(platform="console", user_id=f"{key}-{number}", name=name, role=role)
        for number, (name, role) in enumerate(zip(names, roles, strict=True), start=1)
    ]


def day_interactions(rng: random.Random, day: date) -> list[InteractionCreate]:
    """A weekday's interactions: one or two per account, and every fourth Wednesday a
    business review with the decision makers (NPS)."""
    items: list[InteractionCreate] = []
    for key in _ACCOUNTS if day.weekday() < 5 else ():
        contacts = people(key)
        for _ in range(rng.choice((1, 2, 2))):
            kind = rng.choices(list(_KINDS), weights=list(_KINDS.values()))[0]
            items.append(_interaction(rng, key, kind, [rng.choice(contacts[:-EXECUTIVES])], day))
        if day.weekday() == 2 and day.isocalendar()[1] % 4 == 0:
            items.append(_interaction(rng, key, "business_review", contacts[-EXECUTIVES:], day))
    return sorted(items, key=lambda item: item.occurred_at)


def _interaction(
    rng: random.Random, key: str, kind: str, contacts: list[ContactCreate], day: date
) -> InteractionCreate:
    minutes = rng.randrange(9 * 60, 16 * 60 + 30)  # in the account's business hours
    local = datetime.combine(day, time(minutes // 60, minutes % 60), ZoneInfo(_ACCOUNTS[key][2]))
    ref = f"{key}-{local:%Y%m%d%H%M}-{rng.randrange(10**6)}"
    # Half the support tickets were raised in the shared channel: the survey goes in-thread.
    in_thread = kind == "support_ticket" and rng.random() < 0.5
    where = Where(platform="console", channel_id=f"{key}-shared", thread_id=ref)
    return InteractionCreate(
        source="demo", external_id=ref, account=key, kind=kind, occurred_at=local.astimezone(UTC),
        contacts=tuple(contacts), where=where if in_thread else None,
    )  # fmt: skip


@dataclass
class Screens(ConsoleAdapter):
    """The customers' screens: the console shows every message, and survey prompts are also
    kept for the simulated customers to answer."""

    prompts: list[tuple[SurveyPrompt, str]] = field(default_factory=list)

    async def post(self, target: Target, message: Message) -> MessageRef:
        if isinstance(message, SurveyPrompt) and target.user_id:
            self.prompts.append((message, target.user_id))
        return await super().post(target, message)


@dataclass
class Simulation:
    """The world the core runs in: the clock (the simulation is `core.clock`), customers who
    answer, and account managers who close alerts."""

    sessions: Sessions
    rng: random.Random
    span: tuple[datetime, datetime]
    screens: Screens = field(default_factory=lambda: Screens(io.StringIO(), CONSOLE_LIMIT))
    # survey id -> the prompt, its respondent and when they answer (None: once reminded)
    plans: dict[int, tuple[SurveyPrompt, str, datetime | None]] = field(default_factory=dict)
    chores: list[tuple[datetime, int, str, str]] = field(default_factory=list)  # alert steps

    def __post_init__(self) -> None:
        self.now = self.span[0]
        self.core = Core(sessions=self.sessions, config=demo_config(), clock=self)

    def __call__(self) -> datetime:
        return self.now

    async def run(self) -> None:
        start, end = self.span
        day, pending = start.date(), list[InteractionCreate]()
        while day < end.date():
            pending += day_interactions(self.rng, day)  # New York's evening: logged next day
            for hour in STEP_HOURS if day.weekday() < 5 else ():
                self.now = datetime.combine(day, time(hour), tzinfo=UTC)
                due = [item for item in pending if item.occurred_at <= self.now]
                pending = [item for item in pending if item.occurred_at > self.now]
                await self.step(due)
            day += timedelta(days=1)
        self.now = end
        await self.step(pending)

    async def step(self, items: list[InteractionCreate]) -> None:
        """One round: log, tick, deliver, let people react, deliver what they caused."""
        if items:
            await intake.log_interactions(self.core, items)
        await timeline.tick(self.core)
        await self.drain()
        self._read_prompts()
        if await self._answer_due() + await self._do_chores():
            await self.drain()

    async def drain(self) -> None:
        worker = DeliveryWorker(
            sessions=self.sessions,
            adapters={"console": self.screens},
            clock=self,
            worker_id="demo",
            on_done=lambda s, d, r: timeline.on_delivered(self.core, s, d, r),
            on_failed=lambda s, d, _r: timeline.on_delivery_failed(self.core, s, d),
            settings=DeliverySettings(pace=timedelta(0), batch=50),
        )
        for _ in range(1000):  # a bound, in case a delivery kept coming back due
            if not await worker.run_once():
                return

    def _read_prompts(self) -> None:
        """70 % answer within hours, 12 % only after the reminder, the rest never (expiry)."""
        for prompt, user_id in self.screens.prompts:
            planned = self.plans.get(prompt.survey_id)
            if prompt.reminder and planned and planned[2] is None:
                self.plans[prompt.survey_id] = (planned[0], user_id, self.now + timedelta(hours=1))
            elif not prompt.reminder and (roll := self.rng.random()) < 0.82:
                hours = self.rng.uniform(0.5, 6)
                at = self.now + timedelta(hours=hours) if roll < 0.7 else None
                self.plans[prompt.survey_id] = (prompt, user_id, at)
        self.screens.prompts.clear()

    async def _answer_due(self) -> int:
        due = [(p, user) for p, user, at in self.plans.values() if at and at <= self.now]
        for prompt, user_id in due:
            del self.plans[prompt.survey_id]
            await self._answer(prompt, PersonRef(platform="console", user_id=user_id))
        return len(due)

    async def _answer(self, prompt: SurveyPrompt, who: PersonRef) -> None:
        account, metric, survey_id = (
            who.user_id.split("-")[0],
            Metric(prompt.metric),
            prompt.survey_id,
        )
        score = self._score(account, metric)
        try:
            answer = await answers.record_answer(
                self.core, survey_id=survey_id, score=score, respondent=who
            )
        except SurveyClosed:
            return  # too late: the survey had expired
        if self.rng.random() < 0.2:
            reasons = self.rng.sample(list(DRIVERS), k=self.rng.choice((1, 2)))
            comments = _COMMENTS[prompt.locale][0 if is_detractor(metric, score) else 1]
            comment = self.rng.choice(comments) if self.rng.random() < 0.6 else None
            await answers.record_reasons(
                self.core, survey_id=survey_id, respondent=who, reasons=reasons, comment=comment
            )
        if answer.alert_id is not None:
            self._plan_chores(answer.alert_id, account)

    def _score(self, account: str, metric: Metric) -> int:
        """A score around the account's service quality at this point of the simulation."""
        first, last = _ACCOUNTS[account][4:6]
        start, end = self.span
        level = first + (last - first) * ((self.now - start) / (end - start))
        low, high = score_range(metric)
        return low + round(min(max(self.rng.gauss(level, 0.18), 0.0), 1.0) * (high - low))

    def _plan_chores(self, alert_id: int, account: str) -> None:
        """85 % of alerts are acknowledged within hours, 60 % resolved within days."""
        ack, roll = self.now + timedelta(hours=self.rng.uniform(1, 8)), self.rng.random()
        if roll < 0.85:
            self.chores.append((ack, alert_id, account, "acknowledge"))
        if roll < 0.6:
            resolve = ack + timedelta(days=self.rng.uniform(0.5, 4))
            self.chores.append((resolve, alert_id, account, "resolve"))

    async def _do_chores(self) -> int:
        due = sorted(chore for chore in self.chores if chore[0] <= self.now)
        self.chores = [chore for chore in self.chores if chore[0] > self.now]
        for _, alert_id, account, action in due:
            manager = PersonRef(platform="console", user_id=f"{account}-am")
            if action == "acknowledge":
                await workflow.acknowledge(self.core, alert_id=alert_id, by=manager)
                continue
            note = "Called the customer and agreed on next steps."
            await workflow.resolve(
                self.core, alert_id=alert_id, by=manager, outcome="contacted", note=note
            )
        return len(due)
