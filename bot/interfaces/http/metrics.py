"""Prometheus text for /metrics: counts read from the database on each scrape, so every
replica reports the same shared state."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core import Core
from bot.delivery.queue import TEAM_POSTS
from storage.queries import delivery_admin as admin
from storage.queries import delivery_holds as holds
from storage.queries import stats


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def _family(name: str, doc: str, label: str, values: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, count in sorted(values.items()):
        family.add_metric([key], count)
    return family


def _held(values: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "cxbot_deliveries_held",
        "Deliveries held until an admin fixes their workspace or channel, by reason.",
        labels=["scope", "reason"],
    )
    for (scope, reason), count in sorted(values.items()):
        family.add_metric([scope, reason], count)
    return family


async def render_metrics(core: Core) -> bytes:
    async with core.sessions() as session:
        families = [
            _family(
                "cxbot_surveys",
                "Surveys by status.",
                "status",
                await stats.surveys_by_status(session=session),
            ),
            _family(
                "cxbot_surveys_suppressed",
                "Suppressed surveys by reason.",
                "reason",
                await stats.surveys_suppressed_by_reason(session=session),
            ),
            _family(
                "cxbot_responses",
                "Responses by metric.",
                "metric",
                await stats.responses_by_metric(session=session),
            ),
            _family(
                "cxbot_deliveries",
                "Delivery queue items by status.",
                "status",
                await admin.pending_counts(session=session),
            ),
            _held(await holds.held_counts(session=session)),
            _family(
                "cxbot_deliveries_failed_posts",
                "Alert and digest posts that failed and need an admin (the team never saw them).",
                "purpose",
                await admin.failed_counts(session=session, purposes=TEAM_POSTS),
            ),
            _family(
                "cxbot_alerts",
                "Detractor alerts by status.",
                "status",
                await stats.alerts_by_status(session=session),
            ),
        ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
