"""The Teams app package builds, and its manifest promises what the bot handles."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from adapters.teams.ask import ASK_COMMAND, NOTE_PARAMETER

PACKAGE = Path(__file__).resolve().parents[3] / "adapters" / "teams" / "appPackage"
APP_ID = "8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6"


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_package", PACKAGE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_zips_a_filled_manifest_and_two_icons(tmp_path: Path) -> None:
    out = builder().build(APP_ID, "cxbot.example.com", tmp_path / "app.zip")
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png").startswith(b"\x89PNG")
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert "{{" not in json.dumps(manifest)
    commands = manifest["composeExtensions"][0]["commands"]
    assert [c["id"] for c in commands] == [ASK_COMMAND]
    # The form Teams shows for it has the one field the bot reads.
    assert [p["name"] for p in commands[0]["parameters"]] == [NOTE_PARAMETER]
    # The report's CSV is offered with a FileConsentCard, which needs supportsFiles.
    assert manifest["bots"][0]["supportsFiles"] is True


def test_a_wrong_app_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        builder().build("not-a-guid", "x", tmp_path / "app.zip")
