"""`cxbot migrate` and `cxbot serve` as a user runs them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from bot.interfaces.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "cxbot.yaml"
    if not config.exists():
        shutil.copy(ROOT / "cxbot.example.yaml", config)
    return {
        "CXBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cxbot.db",
        "CXBOT_CONFIG": str(config),
        **extra,
    }


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve"], env=env_for(tmp_path))
    assert result.exit_code == 2
    assert "has no cxbot tables" in result.output and "cxbot migrate" in result.output


def test_serve_names_the_wrong_field_of_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "cxbot.yaml"
    config.write_text("accounts:\n  - key: acme\n    name: Acme\n    timezone: Mars/Base\n")
    result = CliRunner().invoke(main, ["serve"], env=env_for(tmp_path))
    assert result.exit_code == 2
    assert "accounts[0].timezone: unknown time zone 'Mars/Base'" in result.output
    assert "Traceback" not in result.output


def test_slack_token_without_signing_secret_is_refused(tmp_path: Path) -> None:
    env = env_for(tmp_path, SLACK_BOT_TOKEN="xoxb-1")
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 2 and "SLACK_SIGNING_SECRET" in result.output


def test_migrate_then_migrate_again_is_fine(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"], env=env_for(tmp_path)).exit_code == 0
    again = runner.invoke(main, ["migrate"], env=env_for(tmp_path))
    assert again.exit_code == 0 and "up to date" in again.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"cxbot serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                return int(response.status)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("cxbot serve did not become healthy in 20 s")


def test_serve_runs_the_http_api_without_any_chat_platform(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **env_for(tmp_path, CXBOT_PORT=str(port), CXBOT_API_TOKEN="t")}
    cxbot = [sys.executable, "-m", "bot.interfaces.cli.main"]
    subprocess.run([*cxbot, "migrate"], env=env, check=True, cwd=tmp_path, capture_output=True)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([*cxbot, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", process) == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    output = (tmp_path / "serve.log").read_text()
    assert "no chat platform is configured" in output


def test_teams_dev_mode_refuses_a_public_address(tmp_path: Path) -> None:
    env = env_for(tmp_path, CXBOT_TEAMS_DEV="1", CXBOT_HOST="0.0.0.0")  # noqa: S104
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 2 and "loopback" in result.output


def test_teams_dev_mode_refuses_an_app_id(tmp_path: Path) -> None:
    # Dev mode drops authentication; with an app id set that would serve a real bot unsigned.
    env = env_for(
        tmp_path, CXBOT_TEAMS_DEV="1", MICROSOFT_APP_ID="00000000-0000-0000-0000-0000000000aa"
    )
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 2 and "MICROSOFT_APP_ID" in result.output


def test_the_example_config_is_valid_and_complete() -> None:
    from bot.config.schema import load_config

    config = load_config(ROOT / "cxbot.example.yaml")
    assert {p.type for p in config.programs} == {"transactional", "relationship"}
    assert config.teams and config.alerts.no_response_days == 30
