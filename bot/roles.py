"""Who may do what (SPEC §6): team leads, an account's own team, and customers.

The adapters only say who the caller is and whether the platform sees them as external
(a Slack Connect user from another workspace, a Teams guest); the decisions live here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, PersonRef


@dataclass(frozen=True)
class Caller:
    """A person acting through a chat platform."""

    person: PersonRef
    external: bool

    @property
    def actor(self) -> str:
        return f"{self.person.platform}:{self.person.user_id}"


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
