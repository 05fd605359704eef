"""Where a page links to: the live server's paths, or a static export's relative files.

The templates never write a path themselves; they ask ``links``, so the same template
serves ``tubeq serve`` (absolute paths) and ``tubeq site build`` (relative ``.html``
files that open from ``file://``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


def _part(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class ServerLinks:
    static_site: bool = False

    def overview(self) -> str:
        return "/"

    def channels(self) -> str:
        return "/channels"

    def channel(self, channel_id: str) -> str:
        return f"/channels/{_part(channel_id)}"

    def video(self, video_id: str) -> str:
        return f"/videos/{_part(video_id)}"

    def search(self) -> str:
        return "/search"

    def asset(self, name: str) -> str:
        return f"/static/{name}"

    def artifact(self, video_id: str, kind: str) -> str:
        return f"/v1/videos/{_part(video_id)}/artifacts/{_part(kind)}"


@dataclass(frozen=True)
class SiteLinks:
    """Relative links from a page ``depth`` folders below the export's root."""

    depth: int = 0
    static_site: bool = True

    @property
    def _up(self) -> str:
        return "../" * self.depth

    def overview(self) -> str:
        return f"{self._up}index.html"

    def channels(self) -> str:
        return f"{self._up}index.html"

    def channel(self, channel_id: str) -> str:
        return f"{self._up}channels/{_part(channel_id)}.html"

    def video(self, video_id: str) -> str:
        return f"{self._up}videos/{_part(video_id)}.html"

    def search(self) -> str:
        return ""

    def asset(self, name: str) -> str:
        return f"{self._up}static/{name}"

    def artifact(self, video_id: str, kind: str) -> str:
        return ""  # the export writes each artifact's own link (``VideoPage.links``)


Links = ServerLinks | SiteLinks


def site_file(kind: str, ident: str) -> str:
    """The file an export writes for a channel or a video, as ``SiteLinks`` links to it
    (channel and video ids are letters, digits, ``-`` and ``_``: quoting leaves them be)."""
    return f"{kind}/{_part(ident)}.html"
