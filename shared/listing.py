"""What a channel or playlist listing is, in the YouTube Data API v3's own terms.

The value types of the ``ListingSource`` port (``shared.ports``) and the readers of the
Data API's reply shapes (``channels.list``, ``playlists.list``, ``playlistItems.list``,
``videos.list``). Both listing adapters read those shapes — the production one from the
API, the embedded one from a folder of JSON files — so both parse them here, once.

- ``parse_listing_ref``: a channel (URL, ``@handle``, ``UC…`` id, ``/c/``/``/user/`` name)
  or a playlist (URL with ``list=``, or an id) → what to look up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from shared.errors import InvalidInput
from shared.models import VideoMeta

PAGE_SIZE = 50  # the Data API's maxResults ceiling for playlistItems and videos
RefKind = Literal["channel_id", "handle", "username", "custom", "playlist"]
ALL_REF_KINDS: frozenset[RefKind] = frozenset(
    ("channel_id", "handle", "username", "custom", "playlist")
)
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_HANDLE = re.compile(r"^@[A-Za-z0-9._·-]{3,30}$")
_PLAYLIST_ID = re.compile(r"^(PL|UU|LL|FL|OL|RD|UL|PU)[A-Za-z0-9_-]{10,}$")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_YT_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}


@dataclass(frozen=True)
class ListingRef:
    """What the operator named: ``kind`` says how to look ``value`` up."""

    kind: RefKind
    value: str


@dataclass(frozen=True)
class ListingTarget:
    """A resolved channel or playlist: the playlist to page through and whose it is."""

    kind: Literal["channel", "playlist"]
    id: str
    title: str | None
    playlist_id: str


@dataclass(frozen=True)
class PlaylistEntry:
    video_id: str
    published_at: datetime | None  # None for private or deleted videos


@dataclass(frozen=True)
class PlaylistPage:
    """One ``playlistItems.list`` page (one quota unit on the Data API), in playlist order."""

    entries: list[PlaylistEntry]
    #: where the next page starts; None on the last page
    next_token: str | None = None


@dataclass(frozen=True)
class VideoDetails:
    meta: VideoMeta
    #: ``snippet.liveBroadcastContent``: "live" or "upcoming" while a stream or premiere has
    #: not ended (no transcript yet), else "none"
    live_broadcast: str = "none"

    @property
    def is_live_or_upcoming(self) -> bool:
        return self.live_broadcast in ("live", "upcoming")


def parse_listing_ref(raw: str) -> ListingRef:  # noqa: C901 - one branch per URL shape
    text = raw.strip()
    if not text:
        raise InvalidInput(
            "empty backfill reference: give a channel or playlist URL, @handle or id"
        )
    if _CHANNEL_ID.fullmatch(text):
        return ListingRef("channel_id", text)
    if _HANDLE.fullmatch(text):
        return ListingRef("handle", text)
    if _PLAYLIST_ID.fullmatch(text):
        return ListingRef("playlist", text)
    candidate = text
    if "://" not in candidate and re.match(r"^(www\.|m\.)?youtube\.com/", candidate):
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    if "://" in candidate and (parts.hostname or "").lower() in _YT_HOSTS:
        playlist = (parse_qs(parts.query).get("list") or [""])[0]
        if playlist:
            return ListingRef("playlist", playlist)
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0].startswith("@"):
            return ListingRef("handle", segments[0])
        if len(segments) >= 2:
            head, name = segments[0], segments[1]
            if head == "channel" and _CHANNEL_ID.fullmatch(name):
                return ListingRef("channel_id", name)
            if head == "user":
                return ListingRef("username", name)
            if head == "c":
                return ListingRef("custom", name)
    raise InvalidInput(
        f"{raw!r} is not a channel or playlist: use a channel URL (/channel/UC…, /@handle), "
        "an @handle, a UC… channel id, a playlist URL (…list=PL…) or a playlist id"
    )


def parse_iso_duration(value: str | None) -> int | None:
    """ISO 8601 durations as the Data API writes them (``PT1H2M3S``, ``P1DT2H``) → seconds."""
    if not value:
        return None
    match = _DURATION.fullmatch(value)
    if match is None:
        return None
    d, h, m, s = (float(match.group(k) or 0) for k in ("d", "h", "m", "s"))
    return int(d * 86_400 + h * 3_600 + m * 60 + s)


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# ---- reply shapes ------------------------------------------------------------------------


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(reply: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # the API leaves "items" out altogether when nothing matched
    return [i for i in reply.get("items") or [] if isinstance(i, Mapping)]


def channel_target(reply: Mapping[str, Any]) -> ListingTarget | None:
    """The channel of a ``channels.list`` reply, or None when nothing matched."""
    items = _items(reply)
    if not items:
        return None
    item = items[0]
    uploads = _dict(_dict(item.get("contentDetails")).get("relatedPlaylists")).get("uploads")
    if not uploads:
        # a channel resource without an uploads playlist is a reply we cannot use
        raise InvalidInput(f"channel {item.get('id')} lists no uploads playlist")
    title = _dict(item.get("snippet")).get("title")
    return ListingTarget("channel", str(item["id"]), title, str(uploads))


def channel_handle(item: Mapping[str, Any]) -> str | None:
    """A channel resource's handle (``snippet.customUrl``, ``@name``), lower-cased."""
    custom = _dict(item.get("snippet")).get("customUrl")
    if not isinstance(custom, str) or not custom:
        return None
    return "@" + custom.lstrip("@").lower()


def playlist_target(reply: Mapping[str, Any], playlist_id: str) -> ListingTarget | None:
    """The playlist of a ``playlists.list`` reply, or None when nothing matched."""
    items = _items(reply)
    if not items:
        return None
    title = _dict(items[0].get("snippet")).get("title")
    return ListingTarget("playlist", playlist_id, title, playlist_id)


def playlist_page(reply: Mapping[str, Any]) -> PlaylistPage:
    """The entries of one ``playlistItems.list`` reply, in playlist order."""
    entries = []
    for item in _items(reply):
        details = _dict(item.get("contentDetails"))
        if details.get("videoId"):
            published = parse_time(details.get("videoPublishedAt"))
            entries.append(PlaylistEntry(str(details["videoId"]), published))
    token = reply.get("nextPageToken")
    return PlaylistPage(entries, str(token) if token else None)


def video_details(item: Mapping[str, Any]) -> VideoDetails:
    """One ``youtube#video`` resource (a ``videos.list`` item) → its metadata and live state."""
    snippet = _dict(item.get("snippet"))
    meta = VideoMeta(
        video_id=str(item["id"]),
        title=snippet.get("title"),
        channel_id=snippet.get("channelId"),
        channel_title=snippet.get("channelTitle"),
        published_at=parse_time(snippet.get("publishedAt")),
        duration_s=parse_iso_duration(_dict(item.get("contentDetails")).get("duration")),
    )
    return VideoDetails(meta, str(snippet.get("liveBroadcastContent") or "none"))


def videos_details(reply: Mapping[str, Any]) -> dict[str, VideoDetails]:
    """The videos of one ``videos.list`` reply that still exist, by id."""
    return {d.meta.video_id: d for d in map(video_details, _items(reply))}
