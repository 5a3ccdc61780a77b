#!/usr/bin/env python3
"""Set up and run every check: `python3 scripts/test.py` (extra arguments go to pytest).

ruff (lint and format), hadolint on the Dockerfile, mypy, then pytest with coverage. The
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
