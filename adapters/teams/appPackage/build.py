#!/usr/bin/env python3
"""Build the Teams app package: `python3 adapters/teams/appPackage/build.py APP_ID HOST`.

Fills the bot's Microsoft app id and public host into manifest.json, draws the two icons
Teams requires (192×192 colour, 32×32 transparent outline) and zips the three files into
cxbot-teams.zip next to this script, ready for Teams admin center → Upload an app.
Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def png(size: int, pixel: tuple[int, int, int, int]) -> bytes:
    """A square PNG of one RGBA colour with a transparent border (enough for an icon)."""
    border = max(1, size // 8)
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            inside = border <= x < size - border and border <= y < size - border
            row += bytes(pixel if inside else (0, 0, 0, 0))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def build(app_id: str, host: str, out: Path) -> Path:
    if not _GUID.match(app_id):
        raise SystemExit(f"the Microsoft app id must be a GUID, not {app_id!r}")
    manifest = (HERE / "manifest.json").read_text(encoding="utf-8")
    manifest = manifest.replace("{{MICROSOFT_APP_ID}}", app_id).replace(
        "{{CXBOT_PUBLIC_HOST}}", host
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", manifest)
        package.writestr("color.png", png(192, (29, 53, 87, 255)))
        package.writestr("outline.png", png(32, (255, 255, 255, 255)))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    print(build(argv[1], argv[2], HERE / "cxbot-teams.zip"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
