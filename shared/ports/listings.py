"""Channel and playlist listings (backfills, the Worker's cron) and what the cron remembers
between runs."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, runtime_checkable

from shared.listing import ListingRef, ListingTarget, PlaylistPage, RefKind, VideoDetails


@runtime_checkable
class ListingSource(Protocol):
    """Channels and playlists as the YouTube Data API v3 lists them.

    Async, because the Worker (Pyodide: no threads, ``httpx.AsyncClient`` only) awaits it;
    the CLI runs the same core under ``asyncio.run``. Lookups that find nothing raise
    ``InvalidInput`` saying what was not found.
    """

    name: str
    #: which kinds of reference ``resolve`` can look up (a folder of ``channels.list``
    #: replies knows ids and handles; only the API itself knows legacy usernames)
    lookups: frozenset[RefKind]
    #: the most entries one ``playlist_page`` holds
    page_size: int

    async def resolve(self, ref: ListingRef) -> ListingTarget:
        """A channel (its uploads playlist) or a playlist, with its title."""
        ...

    async def playlist_page(self, playlist_id: str, token: str | None = None) -> PlaylistPage:
        """One page of a playlist, in playlist order (a channel's uploads: newest first)."""
        ...

    async def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        """Metadata and live state of the videos that exist and are public (any number of
        ids; private and deleted ones are absent)."""
        ...

    async def aclose(self) -> None: ...


class WatchState(Protocol):
    """What the Worker's cron remembers between runs: the two Workers KV methods it uses
    (both return Promises)."""

    def get(self, key: str) -> Awaitable[Any]: ...

    def put(self, key: str, value: str) -> Awaitable[Any]: ...
