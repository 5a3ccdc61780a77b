"""Work that did not go out comes back: held items are probed and released, failed alert
and digest posts are offered again (when the alert changes, on a schedule, and by the
operator's `cxbot deliveries retry`), and every hold is told to an admin once, with the fix.

A survey prompt that is held stays `scheduled` and goes out when its hold is released; one
that failed for good is suppressed as `no_route` (bot.surveys.landed.on_delivery_failed).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Core
from bot.delivery.queue import TEAM_POSTS
from bot.messages import MESSAGE_ADAPTER, Message, Target
from storage.engine import Sessions
from storage.models import DeliveryStatus
from storage.queries import delivery_admin as admin
from storage.queries import delivery_holds as holds

logger = logging.getLogger(__name__)

PROBE_EVERY = timedelta(minutes=5)  # one held item per hold is tried again this often
REOFFER_EVERY = timedelta(hours=1)  # a failed alert or digest post is offered again hourly
REOFFER_TIMES = 24  # ... for a day; then it waits for the operator


def fix_for(key: str, reason: str) -> str:
    """The one line an admin needs: what is held, why, and how to fix it."""
    scope, _, rest = key.partition(":")
    platform, _, where = rest.partition(":")
    if scope == "channel":
        return (
            f"{platform} channel {where.removeprefix(platform + ':')} refuses cxbot ({reason}): "
            f"invite the bot to it (Slack: /invite @cxbot; Teams: add the app to the chat or "
            f"team); its deliveries are held and go out once it is in"
        )
    workspace = "the workspace" if where == "-" else f"workspace {where}"
    return (
        f"{platform} refuses cxbot's credentials in {workspace} ({reason}): {_remedy(platform)}; "
        f"every delivery there is held and goes out once a probe succeeds, or run "
        f"`cxbot deliveries retry --all-held`"
    )


def _remedy(platform: str) -> str:
    if platform == "slack":
        return "reinstall the app (or renew its token, grant the missing scope)"
    if platform == "teams":
        return (
            "check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and the app registration in Entra "
            "(or whether an admin blocked the app)"
        )
    if platform == "webhook":
        return (
            "check the webhook's url and its secret in cxbot.yaml against what the receiving "
            "end expects"
        )
    return "renew its credentials"


async def probe_holds(core: Core) -> int:
    """Set one item of each due hold pending again; its success releases the hold."""
    async with core.sessions() as session, session.begin():
        started = await holds.start_probes(session=session, now=core.now(), every=PROBE_EVERY)
    for delivery_id in started:
        logger.info("probing a hold with delivery %s", delivery_id)
    return len(started)


async def joined_channel(
    core: Core, *, platform: str, channel_id: str, whole_team: bool = False
) -> int:
    """cxbot was let into a channel (added to its team or chat): what was held there for
    want of it goes out now, without waiting for the hold's next probe. Added to a whole
    team (`whole_team`), it may reach other channels too, which the platform does not name:
    every channel hold of the platform goes out, and a channel still closed to the bot is
    held again at its first refusal. Returns how many items were released."""
    here = holds.channel_hold(Target(platform=platform, channel_id=channel_id).channel_key)
    everywhere = holds.channel_hold(f"{platform}:")
    released: list[int] = []
    async with core.sessions() as session, session.begin():
        held = await holds.active(session=session)
        for key in sorted(held):
            if key == here or (whole_team and key.startswith(everywhere)):
                released += await holds.release(session=session, key=key, now=core.now())
    if released:
        logger.warning("cxbot was added to %s: %s held deliveries released", here, len(released))
    return len(released)


async def reoffer_failed_posts(core: Core) -> int:
    """Offer failed alert and digest posts again, hourly, up to `REOFFER_TIMES` each."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        due = await admin.failed_posts(
            session=session,
            purposes=TEAM_POSTS,
            failed_before=now - REOFFER_EVERY,
            max_reoffers=REOFFER_TIMES,
        )
        done = await holds.repend(session=session, deliveries=due, now=now, reoffer=True)
    for delivery_id in done:
        logger.info("failed post %s offered again", delivery_id)
    return len(done)


async def reoffer_post(
    session: AsyncSession, *, dedupe_key: str, message: Message, now: datetime
) -> bool:
    """The post queued under `dedupe_key` failed: queue it again with `message` (the current
    card). Held posts wait for their hold; pending or done ones are left alone."""
    delivery = await admin.by_key(session=session, dedupe_key=dedupe_key)
    if delivery is None or delivery.status != DeliveryStatus.FAILED:
        return False
    current = MESSAGE_ADAPTER.dump_python(message, mode="json")
    done = await holds.repend(session=session, deliveries=[delivery], now=now, message=current)
    if done:
        logger.info("failed post %s queued again: its subject changed", delivery.id)
    return bool(done)


@dataclass(frozen=True)
class Retried:
    """What an operator's retry did."""

    retried: list[int]
    skipped: list[int]  # asked for, but not held or failed (or in flight)


async def retry(
    sessions: Sessions,
    *,
    now: datetime,
    ids: Collection[int] = (),
    all_held: bool = False,
    failed: bool = False,
    purpose: str | None = None,
) -> Retried:
    """Re-pend the chosen items, attempts reset (`cxbot deliveries retry`)."""
    statuses = [DeliveryStatus.HELD, DeliveryStatus.FAILED] if ids else []
    statuses += [DeliveryStatus.HELD] if all_held else []
    statuses += [DeliveryStatus.FAILED] if failed else []
    async with sessions() as session, session.begin():
        chosen = await admin.listing(
            session=session, statuses=statuses, purpose=purpose, ids=list(ids) if ids else None
        )
        # A held item stays under its hold, as its probe: with its hold cleared, the claim
        # would find the others still held and park it again without calling the platform.
        done = await holds.repend(session=session, deliveries=chosen, now=now, as_probe=True)
    skipped = [i for i in ids if i not in done]
    logger.info("operator retried deliveries %s", done)
    return Retried(retried=done, skipped=skipped)
