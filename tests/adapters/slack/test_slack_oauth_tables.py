"""The Slack OAuth store tables our migration writes out are the ones slack_sdk expects."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from storage.engine import create_engine


def slack_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


def _only_slack(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or (name or "").startswith("slack_")


def test_migrated_slack_tables_match_slack_sdk(database_url: str) -> None:
    def diff(connection: sa.Connection) -> list[object]:
        options = {"compare_type": True, "include_name": _only_slack}
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, slack_metadata()))

    async def run() -> list[object]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(diff)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == []
