"""The embedded ``ListingSource``: channel and playlist listings read from a folder of JSON
files in the YouTube Data API v3's own reply shapes (the bundled samples ship one, written
by ``scripts/make_samples.py``), so ``tubeq backfill @hearth-handplane`` and the demo run
offline, through the same backfill core as the Data API.

Layout (each file is what the API answers to the matching request)::

    channels/<channel id>.json                  channels.list (one item; snippet.customUrl
                                                is the @handle)
    playlists/<playlist id>.json                playlists.list (one item: the title)
    playlistItems/<playlist id>/<token>.json    playlistItems.list pages; the first page
                                                is ``first``, each nextPageToken names
                                                the next file
    videos/<video id>.json                      a videos.list item (youtube#video)

A video listed in a playlist without a ``videos/`` file is private or deleted, as on
YouTube. Legacy ``/user/`` names are not resolvable: a channel resource carries no
username, so only the API itself can look one up (``lookups`` says so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from shared.adapter_settings import DirectoryListingSettings
from shared.errors import ConfigError, InvalidInput
from shared.listing import (
    PAGE_SIZE,
    ListingRef,
    ListingTarget,
    PlaylistPage,
    RefKind,
    VideoDetails,
    channel_handle,
    channel_target,
    playlist_page,
    playlist_target,
    video_details,
)

FIRST_PAGE = "first"
# ids and page tokens become file names: nothing that could climb out of the folder
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class DirectoryListingSource:
    name = "directory"
    lookups: frozenset[RefKind] = frozenset(("channel_id", "handle", "custom", "playlist"))
    page_size = PAGE_SIZE

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_settings(cls, section: DirectoryListingSettings) -> Self:
        folder = section.folder
        if not (folder / "channels").is_dir():
            raise ConfigError(
                f"TUBEQ_LISTINGS_DIR={folder} holds no channels/ folder: point it at a "
                "listing folder (the samples' is samples/listings, made by "
                "scripts/make_samples.py), or set TUBEQ_YOUTUBE_API_KEY to list YouTube"
            )
        return cls(folder)

    async def aclose(self) -> None:
        return None

    # ---- the port -----------------------------------------------------------------------

    async def resolve(self, ref: ListingRef) -> ListingTarget:
        if ref.kind == "playlist":
            reply = self._read("playlists", ref.value)
            found = playlist_target(reply, ref.value) if reply is not None else None
            if found is None:
                raise InvalidInput(
                    f"no playlist {ref.value!r} in the listing folder {self.folder}: {self._hint()}"
                )
            return found
        if ref.kind not in self.lookups:
            raise InvalidInput(
                f"the {self.name} listing cannot look up a {ref.kind} ({ref.value!r}): use the "
                "channel's @handle or UC… id"
            )
        found_channel: ListingTarget | None = None
        if ref.kind == "channel_id":
            reply = self._read("channels", ref.value)
            found_channel = channel_target(reply) if reply is not None else None
        else:
            handle = ref.value if ref.kind == "handle" else "@" + ref.value
            found_channel = self._by_handle(handle.lower())
        if found_channel is None:
            raise InvalidInput(
                f"no YouTube channel found for {ref.value!r} in the listing folder "
                f"{self.folder}: {self._hint()}"
            )
        return found_channel

    async def playlist_page(self, playlist_id: str, token: str | None = None) -> PlaylistPage:
        reply = self._read("playlistItems", playlist_id, token or FIRST_PAGE)
        if reply is None:
            raise InvalidInput(
                f"no page {token or FIRST_PAGE!r} of playlist {playlist_id!r} in the listing "
                f"folder {self.folder}"
            )
        return playlist_page(reply)

    async def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        out: dict[str, VideoDetails] = {}
        for video_id in video_ids:
            item = self._read("videos", video_id)
            if item is not None:  # absent: private or deleted, as on YouTube
                out[video_id] = video_details(item)
        return out

    # ---- files --------------------------------------------------------------------------

    def _by_handle(self, handle: str) -> ListingTarget | None:
        for path in sorted((self.folder / "channels").glob("*.json")):
            reply = self._load(path)
            items = reply.get("items") or []
            if items and isinstance(items[0], Mapping) and channel_handle(items[0]) == handle:
                return channel_target(reply)
        return None

    def _hint(self) -> str:
        handles = []
        for path in sorted((self.folder / "channels").glob("*.json")):
            items = self._load(path).get("items") or []
            handle = channel_handle(items[0]) if items else None
            handles.append(handle or path.stem)
        known = ", ".join(handles) or "none"
        return (
            f"it knows {known}; to list real YouTube channels set TUBEQ_YOUTUBE_API_KEY "
            "(or TUBEQ_LISTING_BACKEND=youtube)"
        )

    def _read(self, kind: str, *names: str) -> Mapping[str, Any] | None:
        if not all(_SAFE_NAME.fullmatch(n) for n in names):
            return None  # no such id can exist, so it is simply not found
        path = self.folder.joinpath(kind, *names[:-1], names[-1] + ".json")
        return self._load(path) if path.is_file() else None

    def _load(self, path: Path) -> Mapping[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the listing file {path} ({exc}); regenerate the samples' "
                "listings with `python scripts/make_samples.py`, or fix TUBEQ_LISTINGS_DIR"
            ) from exc
        if not isinstance(data, Mapping):
            raise ConfigError(f"the listing file {path} is not a JSON object (a Data API reply)")
        return data
