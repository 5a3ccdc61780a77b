"""A local fake of the OneDrive upload sessions Teams hands a bot when a user accepts a file
(the `uploadInfo` of an accepted `fileConsent/invoke`), served by `FakeConnector`.

Every PUT is recorded as an `Upload` (headers and bytes); `fail_next` makes the next ones
fail, as an expired session or a full OneDrive does.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

PATH = "/upload/{name}"


@dataclass(frozen=True)
class Upload:
    """One PUT to an upload URL: the file name in the URL, the headers and the bytes."""

    name: str
    headers: Mapping[str, str]
    data: bytes


class UploadSessions:
    def __init__(self) -> None:
        self.base_url = ""  # the fake server's, set when it starts
        self.uploads: list[Upload] = []
        self._failures: deque[int] = deque()

    def fail_next(self, status: int = 503, *, times: int = 1) -> None:
        self._failures.extend([status] * times)

    def upload_info(self, name: str) -> dict[str, Any]:
        """The `uploadInfo` of an accepted file consent for `name`, uploading to this fake."""
        file_type = name.rpartition(".")[2] if "." in name else ""
        return {
            "contentUrl": f"https://contoso-my.sharepoint.invalid/personal/Documents/{name}",
            "fileType": file_type,
            "name": name,
            "uniqueId": hashlib.sha256(name.encode()).hexdigest()[:32].upper(),
            "uploadUrl": f"{self.base_url}upload/{name}",
        }

    async def handle(self, request: web.Request) -> web.Response:
        """OneDrive answers the last (here: the only) range of a session with 201 and the
        file's driveItem."""
        data = await request.read()
        name = request.match_info["name"]
        self.uploads.append(Upload(name=name, headers=CIMultiDict(request.headers), data=data))
        if self._failures:
            status = self._failures.popleft()
            error = {"error": {"code": "serviceNotAvailable", "message": "Try again later"}}
            return web.json_response(error, status=status)
        return web.json_response({"id": "01FILE", "name": name, "size": len(data)}, status=201)
