"""Fixtures of the system tests: a fresh PostgreSQL database per test (cloned from the
session's migrated template), the timed fake Slack API, an HTTP client, and the cluster of
`cxbot serve` replicas, which is always stopped and whose logs are printed on failure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL_VAR, postgres_url
from tests.system.replicas import Cluster
from tests.system.timed_slack import TimedSlackAPI
from tests.system.world import World


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so teardown can tell a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _figures(caplog: pytest.LogCaptureFixture) -> None:
    """The figures and replica logs the tests log at INFO are kept: pytest shows them with a
    failure (and live with --log-cli-level=INFO)."""
    caplog.set_level(logging.INFO, logger="tests")


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def system_database(postgres_template: str | None) -> AsyncIterator[str]:
    """The URL of a migrated, empty PostgreSQL database of this test's own."""
    url = postgres_url()
    if url is None or postgres_template is None:
        pytest.skip(
            f"system tests run cxbot replicas on a shared PostgreSQL: set {POSTGRES_URL_VAR} "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    name = f"cxbot_sys_{uuid.uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def slack_api() -> AsyncIterator[TimedSlackAPI]:
    fake = TimedSlackAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    system_database: str,
    slack_api: TimedSlackAPI,
    world: World,
) -> AsyncIterator[Cluster]:
    config = world.write_config(tmp_path / "cxbot.yaml")
    cluster = Cluster(
        tmp_path=tmp_path,
        database_url=system_database,
        config_path=config,
        slack_api_url=slack_api.base_url,
    )
    try:
        yield cluster
    finally:
        await cluster.stop_all()
        failed = any(
            getattr(getattr(request.node, f"report_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        if failed:
            cluster.dump_logs()
