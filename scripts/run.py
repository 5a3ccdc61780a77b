#!/usr/bin/env python3
"""Set up and run the bot on the embedded SQLite database: `python3 scripts/run.py`.

Creates .venv, installs cxbot, writes cxbot.yaml from the example if there is none,
migrates the database and starts `cxbot serve`. Extra arguments go to `cxbot serve`.
"""

from __future__ import annotations

import shutil
import sys

from _venv import ROOT, ensure, run


def main() -> int:
    bin_dir = ensure(dev=False)
    config = ROOT / "cxbot.yaml"
    if not config.exists():
        shutil.copy(ROOT / "cxbot.example.yaml", config)
        print("wrote cxbot.yaml from cxbot.example.yaml: edit it for your accounts", flush=True)
    cxbot = str(bin_dir / "cxbot")
    return run([cxbot, "migrate"]) or run([cxbot, "serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
