#!/usr/bin/env python3
"""Set up and run every check: `python3 scripts/test.py` (extra arguments go to pytest).

ruff (lint and format), hadolint on the Dockerfile, mypy, pytest with coverage, then the
system tests (`tests/system`; not when arguments for pytest are given). The
PostgreSQL tests run when CXBOT_TEST_POSTGRES_URL is set (e.g.
postgresql+asyncpg://postgres@127.0.0.1:5432/test) and are skipped, with the reason, when it
is not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _venv import ensure, run


def main() -> int:
    bin_dir = ensure(dev=True)
    steps = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        *_hadolint(bin_dir),
        [str(bin_dir / "mypy")],
        [str(bin_dir / "pytest"), "--cov", "--cov-report=term:skip-covered", *sys.argv[1:]],
    ]
    if not sys.argv[1:]:
        # The system tests (real `cxbot serve` replicas on PostgreSQL and a fake Slack, kill -9,
        # faults) take minutes, so they run apart, last; without PostgreSQL they skip and say so.
        steps.append([str(bin_dir / "pytest"), "-m", "system", "tests/system"])
    for step in steps:
        print(f"$ {' '.join(step[:1] + step[1:])}", flush=True)
        if code := run(step):
            return code
    return 0


def _hadolint(bin_dir: Path) -> list[list[str]]:
    """hadolint comes as a wheel for Linux on x86_64 only; elsewhere the step is skipped."""
    if (binary := bin_dir / "hadolint").exists():
        return [[str(binary), "Dockerfile"]]
    print("hadolint is not installed on this platform: the Dockerfile is not linted", flush=True)
    return []


if __name__ == "__main__":
    sys.exit(main())
