"""Who may do what (SPEC §6): team leads, an account's own team, and customers.

The adapters only report facts: who the caller is, which workspace (tenant) is their own,
and which workspaces are ours according to the installation or the configuration; where the
platform's member list places people (Teams' roster: tenant and role, a guest), what it
says. The decisions live here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.config.schema import AccountConfig, Config
from bot.config.types import PersonRef
from bot.errors import NotAllowed
from bot.i18n import texts


@dataclass(frozen=True)
class Caller:
    """A person acting through a chat platform. `unverified`: the platform could not say
    just now where they belong (an outage, an unreadable answer); they count as external,
    and a refusal asks them to try again rather than calling them a customer."""

    person: PersonRef
    external: bool
    unverified: bool = False
    name: str | None = None
    """The display name the platform gave for them, if any: cards name people by it."""

    @property
    def actor(self) -> str:
        return self.person.actor


def is_team_lead(config: Config, caller: Caller) -> bool:
    return not caller.external and caller.person in config.roles.team_leads


def team_accounts(config: Config, caller: Caller) -> tuple[str, ...]:
    """The accounts whose team the caller belongs to (their account manager counts)."""
    if caller.external:
        return ()
    return tuple(
        account.key
        for account in config.accounts
        if caller.person in account.team or caller.person == account.account_manager
    )


def reportable_accounts(config: Config, caller: Caller) -> tuple[str, ...]:
    """Accounts the caller may see figures of: all for a team lead, their own for an
    account team member, none for a customer or anyone else."""
    if is_team_lead(config, caller):
        return tuple(account.key for account in config.accounts)
    return team_accounts(config, caller)


def may_act_on_alert(caller: Caller) -> bool:
    """Alerts are for staff: any member of the vendor's own workspace may acknowledge,
    assign or resolve them (they are posted in internal team channels); customers never."""
    return not caller.external


def may_log_interactions(caller: Caller) -> bool:
    """Staff log interactions; a customer cannot ask themselves to be surveyed."""
    return not caller.external


def our_workspaces(config: Config, *, platform: str, installed: str | None) -> frozenset[str]:
    """The workspaces (tenants) whose members are our staff: the one the bot's own
    credentials belong to (`installed`: Slack's installation, Teams' configured
    MICROSOFT_APP_TENANT_ID; never a request's), and each account's configured `workspace`
    on that platform."""
    configured = {
        account.workspace
        for account in config.accounts
        if account.workspace and platform in _platforms(account)
    }
    return frozenset(configured | ({installed} if installed else set()))


def _platforms(account: AccountConfig) -> set[str]:
    channels = (account.team_channel, *account.customer_channels)
    return {channel.platform for channel in channels if channel is not None}


def caller_in(
    person: PersonRef, *, home: str | None, ours: Collection[str], verified: bool = True
) -> Caller:
    """A caller placed by the facts: staff only if their own workspace is known and one of
    ours. Anyone we cannot place is external (fail closed)."""
    external = not verified or home is None or home not in ours
    return Caller(person=person, external=external, unverified=not verified)


@dataclass(frozen=True)
class Listing:
    """What a platform's member list (Teams' roster) says of a person: the tenant it lists
    them in, and their role there ("user" for a member of that tenant, "guest",
    "anonymous"); either may be missing."""

    tenant: str | None
    role: str | None


def listed_outside(
    listing: Listing | None, *, ours: Collection[str], said: str | None = None
) -> bool | None:
    """Whether the facts place a person outside our staff. True: a guest, an anonymous
    participant, or a member of a tenant that is not ours, by the member list or by the
    tenant their own request names (`said`, which can only ever make them a customer).
    False: a member the list places in one of ours. None: nothing places them (the list
    did not answer, or names no tenant)."""
    if said is not None and said not in ours:
        return True
    if listing is None:
        return None
    if (listing.role or "user").lower() != "user":
        return True
    if listing.tenant is None:
        return None
    return listing.tenant not in ours


def listed_caller(
    person: PersonRef, listing: Listing | None, *, ours: Collection[str], said: str | None = None
) -> Caller:
    """A caller placed by the member list: staff only when it places them in one of our
    tenants; anyone it cannot place is external (fail closed)."""
    outside = listed_outside(listing, ours=ours, said=said)
    return Caller(person=person, external=outside is not False)


def may_be_assigned(assignee: Caller) -> bool:
    """Alerts carry a customer's score and comment: only staff may own one."""
    return not assignee.external


def refusal(caller: Caller, locale: str = "en") -> str:
    """What a refused caller is told: a customer that this is for the team; someone the
    platform could not place just now, to try again."""
    return texts.t("try_again" if caller.unverified else "not_for_customers", locale)


def assignment_refusal(assignee: Caller, locale: str = "en") -> str:
    """Why an alert was not assigned to `assignee`."""
    return texts.t("try_again" if assignee.unverified else "assignee_not_staff", locale)


def require(allowed: bool, caller: Caller, locale: str = "en") -> None:
    """Refuse the caller (`NotAllowed`, whose message is what they are told) unless
    `allowed`: the use cases check here, so that no adapter has to remember to."""
    if not allowed:
        raise NotAllowed(refusal(caller, locale))
