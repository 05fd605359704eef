"""The YouTube Data API v3 for the Worker: ``httpx.AsyncClient``, the one client Cloudflare's
Python runtime can run (it patches ``AsyncClient`` onto the runtime's ``fetch``; a Worker
has no sockets for the sync client).

Parsing is shared with the sync client (``producer.youtube_data_api``): listing refs,
durations, timestamps and the error mapping (bad key, quota, not found) come from there;
the page parsers below are pure functions over one reply, usable by either client.

Timeouts: the Workers patch of ``AsyncClient`` bypasses httpx's transport, and with it
httpx's timeouts, so every request is also bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Self

import httpx
from pydantic import SecretStr

from producer.youtube_data_api import (
    PAGE_SIZE,
    ListingRef,
    ListingTarget,
    PlaylistEntry,
    _api_error,
    _parse_time,
    client_options,
    parse_iso_duration,
)
from shared.errors import ConfigError, InvalidInput, UpstreamUnavailable
from shared.models import VideoMeta
from shared.settings import Settings


def playlist_page_entries(data: dict[str, Any]) -> list[PlaylistEntry]:
    """The entries of one ``playlistItems.list`` reply, in playlist order."""
    entries = []
    for item in data.get("items") or []:
        details = item.get("contentDetails") or {}
        if details.get("videoId"):
            published = _parse_time(details.get("videoPublishedAt"))
            entries.append(PlaylistEntry(details["videoId"], published))
    return entries


def video_metas(data: dict[str, Any]) -> dict[str, VideoMeta]:
    """The videos of one ``videos.list`` reply that still exist, by id."""
    out = {}
    for item in data.get("items") or []:
        snippet = item.get("snippet") or {}
        duration = (item.get("contentDetails") or {}).get("duration")
        out[item["id"]] = VideoMeta(
            video_id=item["id"],
            title=snippet.get("title"),
            channel_id=snippet.get("channelId"),
            channel_title=snippet.get("channelTitle"),
            published_at=_parse_time(snippet.get("publishedAt")),
            duration_s=parse_iso_duration(duration),
        )
    return out


def live_or_upcoming(data: dict[str, Any]) -> set[str]:
    """Ids in one ``videos.list`` reply whose stream or premiere has not ended yet."""
    return {
        item["id"]
        for item in data.get("items") or []
        if (item.get("snippet") or {}).get("liveBroadcastContent") in ("live", "upcoming")
    }


class AsyncYouTubeDataApi:
    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = "https://www.googleapis.com/youtube/v3",
        timeout_s: float = 20.0,
        attempts: int = 3,
        retry_wait_s: float = 1.0,
    ) -> None:
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._retry_wait_s = retry_wait_s
        self._client = httpx.AsyncClient(**client_options(api_key, base_url, timeout_s))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        key = settings.youtube_api_key
        if key is None or not key.get_secret_value().strip():
            raise ConfigError(
                "TUBEQ_YOUTUBE_API_KEY is not set: channel backfills and the cron list videos "
                "through the YouTube Data API v3 (`wrangler secret put TUBEQ_YOUTUBE_API_KEY`)"
            )
        return cls(key, base_url=settings.youtube_api_url, timeout_s=settings.youtube_api_timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    # ---- resolving ----------------------------------------------------------------------

    async def resolve(self, ref: ListingRef) -> ListingTarget:
        if ref.kind == "playlist":
            data = await self._get("playlists", {"part": "snippet", "id": ref.value})
            items = data.get("items") or []
            if not items:
                raise InvalidInput(
                    f"no YouTube playlist {ref.value!r} (or it is private): check the list= id"
                )
            title = (items[0].get("snippet") or {}).get("title")
            return ListingTarget("playlist", ref.value, title, ref.value)
        lookups = {
            "channel_id": [{"id": ref.value}],
            "handle": [{"forHandle": ref.value}],
            "username": [{"forUsername": ref.value}],
            # /c/<name> has no lookup; it is usually the handle or the legacy username
            "custom": [{"forHandle": "@" + ref.value}, {"forUsername": ref.value}],
        }[ref.kind]
        for lookup in lookups:
            data = await self._get("channels", {"part": "contentDetails,snippet", **lookup})
            items = data.get("items") or []
            if items:
                item = items[0]
                related = (item.get("contentDetails") or {}).get("relatedPlaylists") or {}
                if not related.get("uploads"):
                    raise UpstreamUnavailable(f"channel {item.get('id')} lists no uploads")
                title = (item.get("snippet") or {}).get("title")
                return ListingTarget("channel", item["id"], title, related["uploads"])
        raise InvalidInput(
            f"no YouTube channel found for {ref.value!r}: check the URL, @handle or UC… id"
        )

    # ---- listing ------------------------------------------------------------------------

    async def playlist_page(
        self, playlist_id: str, token: str | None = None
    ) -> tuple[list[PlaylistEntry], str | None]:
        """One page (≤ 50 entries, one quota unit) and the next page's token."""
        params: dict[str, Any] = {
            "part": "contentDetails",
            "playlistId": playlist_id,
            "maxResults": PAGE_SIZE,
        }
        if token:
            params["pageToken"] = token
        data = await self._get("playlistItems", params)
        return playlist_page_entries(data), data.get("nextPageToken") or None

    async def video_listing(
        self, video_ids: Sequence[str]
    ) -> tuple[dict[str, VideoMeta], set[str]]:
        """Metadata of the videos that still exist (deleted or private ones are absent), and
        which of them are live or upcoming (a stream or premiere not over: no transcript)."""
        metas: dict[str, VideoMeta] = {}
        pending: set[str] = set()
        for start in range(0, len(video_ids), PAGE_SIZE):
            chunk = ",".join(video_ids[start : start + PAGE_SIZE])
            # no maxResults: the API does not take it together with id
            data = await self._get("videos", {"part": "snippet,contentDetails", "id": chunk})
            metas.update(video_metas(data))
            pending |= live_or_upcoming(data)
        return metas, pending

    async def videos(self, video_ids: Sequence[str]) -> dict[str, VideoMeta]:
        return (await self.video_listing(video_ids))[0]

    # ---- HTTP ---------------------------------------------------------------------------

    async def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._get_once(endpoint, params)
            except UpstreamUnavailable:
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(self._retry_wait_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = await asyncio.wait_for(
                self._client.get(endpoint, params=params), timeout=self._timeout_s
            )
        except TimeoutError as exc:
            raise UpstreamUnavailable(
                f"YouTube Data API did not answer within {self._timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"YouTube Data API unreachable ({type(exc).__name__}): {exc}"
            ) from exc
        if resp.status_code >= 400:
            raise _api_error(resp)
        data: dict[str, Any] = resp.json()
        return data
