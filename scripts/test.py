#!/usr/bin/env python3
"""Set up and run every check: `python3 scripts/test.py` (extra arguments go to pytest).

ruff (lint and format), mypy, then pytest with coverage. The PostgreSQL tests run when
CXBOT_TEST_POSTGRES_URL is set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)
and are skipped, with the reason, when it is not.
"""

from __future__ import annotations

import sys

from _venv import ensure, run


def main() -> int:
    bin_dir = ensure(dev=True)
    steps = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [str(bin_dir / "mypy")],
        [str(bin_dir / "pytest"), "--cov", "--cov-report=term:skip-covered", *sys.argv[1:]],
    ]
    for step in steps:
        print(f"$ {' '.join(step[:1] + step[1:])}", flush=True)
        if code := run(step):
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
