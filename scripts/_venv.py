"""Creates the project's virtual environment and installs cxbot with pinned dependencies.

Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".cxbot-installed"


def ensure(*, dev: bool) -> Path:
    """Create .venv if needed and (re)install when pyproject.toml or constraints.txt changed;
    return the venv's bin folder."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may run on an older Python)
        sys.exit(f"cxbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _fingerprint(dev)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        _install(dev)
        STAMP.write_text(wanted)
    return BIN


def _fingerprint(dev: bool) -> str:
    parts = [(ROOT / name).read_text() for name in ("pyproject.toml", "constraints.txt")]
    return f"dev={dev}\n" + "\n".join(parts)


def _install(dev: bool) -> None:
    python = str(BIN / "python")
    target = ".[dev]" if dev else "."
    print(f"installing cxbot{' with test tools' if dev else ''} (pinned)", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-c", "constraints.txt", "-e", target],
        check=True,
        cwd=ROOT,
    )


def run(command: list[str]) -> int:
    """Run a command from the repository root and return its exit code."""
    return subprocess.run(command, cwd=ROOT, check=False).returncode
