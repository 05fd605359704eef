"""The production ``ListingSource``: the YouTube Data API v3 over ``httpx.AsyncClient``.

``httpx.AsyncClient`` is the one HTTP client Cloudflare's Python runtime can run (it patches
it onto the runtime's ``fetch``; a Worker has no sockets for the sync client), so the
Worker awaits this adapter and the CLI runs it under ``asyncio.run`` — one client, one
retry policy (``shared.classify.data_api.DataApiRetry``), one error mapping.

Calls: channel → uploads playlist (``channels.list``), playlist title (``playlists.list``),
pages of ``playlistItems.list`` (50 a page) and ``videos.list`` (≤ 50 ids a call). Each
costs 1 unit of the default 10,000 a day, so a backfill costs about 2 units per 50 videos
plus 1-2 to resolve.

The key goes in the ``X-Goog-Api-Key`` header, not the query string, so it never shows up
in a URL that an error message or an HTTP log line might quote.

Timeouts: the Workers patch of ``AsyncClient`` bypasses httpx's transport, and with it
httpx's timeouts, so every request is also bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self, TypeVar

import httpx
import structlog
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from shared.adapter_settings import YouTubeDataApiSettings
from shared.classify.data_api import KEY_SETTING, DataApiRetry, from_reply
from shared.errors import ConfigError, InvalidInput, UpstreamUnavailable
from shared.listing import (
    ALL_REF_KINDS,
    PAGE_SIZE,
    ListingRef,
    ListingTarget,
    PlaylistPage,
    VideoDetails,
    channel_target,
    parse_iso_duration,
    parse_listing_ref,
    playlist_page,
    playlist_target,
    videos_details,
)

__all__ = ["YouTubeDataApi", "YouTubeDataApiListing", "parse_iso_duration", "parse_listing_ref"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
DEFAULT_URL = "https://www.googleapis.com/youtube/v3"


class YouTubeDataApiListing:
    name = "youtube"
    lookups = ALL_REF_KINDS
    page_size = PAGE_SIZE

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = DEFAULT_URL,
        timeout_s: float = 20.0,
        retry: DataApiRetry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        self.retry = retry or DataApiRetry()
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout_s,
            headers={"X-Goog-Api-Key": api_key.get_secret_value(), "Accept": "application/json"},
            transport=transport,
        )

    @classmethod
    def from_settings(cls, section: YouTubeDataApiSettings) -> Self:
        key = section.api_key
        if key is None or not key.get_secret_value().strip():
            raise ConfigError(
                f"{KEY_SETTING} is not set: backfills and the cron list videos through the "
                "YouTube Data API v3 (TUBEQ_LISTING_BACKEND=youtube); create a key in the "
                "Google Cloud console (APIs & Services → Credentials) with the YouTube Data "
                "API v3 enabled (on the Worker: `wrangler secret put TUBEQ_YOUTUBE_API_KEY`)"
            )
        retry = DataApiRetry(base_s=section.retry_wait_s)
        return cls(
            key,
            base_url=section.base_url,
            timeout_s=section.timeout_s,
            retry=retry,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- the port -----------------------------------------------------------------------

    async def resolve(self, ref: ListingRef) -> ListingTarget:
        if ref.kind == "playlist":
            reply = await self._get("playlists", {"part": "snippet", "id": ref.value})
            found = playlist_target(reply, ref.value)
            if found is None:
                raise InvalidInput(
                    f"no YouTube playlist {ref.value!r} (or it is private): check the list= id"
                )
            return found
        lookups = {
            "channel_id": [{"id": ref.value}],
            "handle": [{"forHandle": ref.value}],
            "username": [{"forUsername": ref.value}],
            # /c/<name> has no lookup in the API; most custom names are also the handle or
            # the legacy username, so try both (1 quota unit each) rather than search (100)
            "custom": [{"forHandle": "@" + ref.value}, {"forUsername": ref.value}],
        }[ref.kind]
        for lookup in lookups:
            reply = await self._get("channels", {"part": "contentDetails,snippet", **lookup})
            target = channel_target(reply)
            if target is not None:
                return target
        raise InvalidInput(
            f"no YouTube channel found for {ref.value!r}: check the URL, @handle or UC… id"
        )

    async def playlist_page(self, playlist_id: str, token: str | None = None) -> PlaylistPage:
        params: dict[str, Any] = {
            "part": "contentDetails",
            "playlistId": playlist_id,
            "maxResults": PAGE_SIZE,
        }
        if token:
            params["pageToken"] = token
        return playlist_page(await self._get("playlistItems", params))

    async def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        out: dict[str, VideoDetails] = {}
        for start in range(0, len(video_ids), PAGE_SIZE):
            chunk = ",".join(video_ids[start : start + PAGE_SIZE])
            # no maxResults: the API does not take it together with id
            reply = await self._get("videos", {"part": "snippet,contentDetails", "id": chunk})
            out.update(videos_details(reply))
        return out

    # ---- HTTP ---------------------------------------------------------------------------

    async def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.retry

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            seconds = policy.wait_s(exc, state.attempt_number)
            log.warning(
                "data_api.retry",
                endpoint=endpoint,
                attempt=state.attempt_number,
                wait_s=seconds,
                error=str(exc),
            )
            return seconds

        retrying = AsyncRetrying(
            retry=retry_if_exception(policy.should_retry),
            stop=stop_after_attempt(policy.attempts),
            wait=wait,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._get_once(endpoint, params)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

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
            # the exception's text names the host, never the key (it is a header)
            raise UpstreamUnavailable(
                f"YouTube Data API unreachable ({type(exc).__name__}): {exc}"
            ) from exc
        if resp.status_code >= 400:
            try:
                body: object = resp.json()
            except ValueError:
                body = None
            raise from_reply(resp.status_code, body, resp.text, resp.headers)
        data: dict[str, Any] = resp.json()
        return data


class YouTubeDataApi:
    """The sync side, derived from the async adapter (for the doctor and scripts): each call
    runs in its own event loop with a client of its own, so nothing is shared across loops.
    Not for a running event loop: await ``YouTubeDataApiListing`` there."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = DEFAULT_URL,
        timeout_s: float = 20.0,
        attempts: int = DataApiRetry.attempts,
        retry_wait_s: float = DataApiRetry.base_s,
    ) -> None:
        self._make: Callable[[], YouTubeDataApiListing] = lambda: YouTubeDataApiListing(
            api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            retry=DataApiRetry(attempts=max(1, attempts), base_s=retry_wait_s),
        )

    def _run(self, call: Callable[[YouTubeDataApiListing], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self._make() as api:
                return await call(api)

        return asyncio.run(go())

    def resolve(self, ref: ListingRef) -> ListingTarget:
        return self._run(lambda api: api.resolve(ref))

    def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        return self._run(lambda api: api.video_details(video_ids))

    def close(self) -> None:
        """Nothing held between calls; here so callers can close it like any client."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
