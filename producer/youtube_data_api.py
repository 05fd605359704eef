"""A small client for the YouTube Data API v3: what a channel or playlist backfill needs.

- ``parse_listing_ref``: a channel (URL, ``@handle``, ``UC…`` id, ``/c/``/``/user/`` name)
  or a playlist (URL with ``list=``, or an id) → what to look up.
- ``YouTubeDataApi``: channel → uploads playlist (``channels.list``), playlist title
  (``playlists.list``), pages of ``playlistItems.list`` (50 a page) and ``videos.list``
  (≤ 50 ids a call) for title, duration, publish date, channel and whether it is live.

Quota: every list call costs 1 unit of the default 10,000 a day, so a backfill costs about
2 units per 50 videos (a ``playlistItems`` page and a ``videos`` call) plus 1-2 to resolve.

The key goes in the ``X-Goog-Api-Key`` header, not the query string, so it never shows up
in a URL that an error message or an HTTP log line might quote. 5xx and network errors are
retried a few times (tenacity); a bad key, an exhausted quota and an unknown channel each
raise an error that says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from shared.classify.http import from_status, seconds_until_pacific_midnight
from shared.errors import (
    ConfigError,
    InvalidInput,
    RateLimited,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.models import VideoMeta
from shared.settings import Settings

PAGE_SIZE = 50  # the Data API's maxResults ceiling for playlistItems and videos
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_HANDLE = re.compile(r"^@[A-Za-z0-9._·-]{3,30}$")
_PLAYLIST_ID = re.compile(r"^(PL|UU|LL|FL|OL|RD|UL|PU)[A-Za-z0-9_-]{10,}$")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_YT_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
# Reasons come from ``error.errors[].reason`` (the legacy list) and from the ErrorInfo
# ``error.details[].reason`` the API sends today (a bad key is a 400 ``badRequest`` whose
# ErrorInfo says ``API_KEY_INVALID``).
_BAD_KEY_REASONS = {
    "keyInvalid",
    "keyExpired",
    "API_KEY_INVALID",
    "API_KEY_EXPIRED",
    "accessNotConfigured",
    "SERVICE_DISABLED",
    "ipRefererBlocked",
    "API_KEY_HTTP_REFERRER_BLOCKED",
    "API_KEY_IP_ADDRESS_BLOCKED",
    "API_KEY_ANDROID_APP_BLOCKED",
    "API_KEY_IOS_APP_BLOCKED",
    "API_KEY_SERVICE_BLOCKED",
}
_DAILY_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
# per-minute (per-user) limits: they lift within a minute
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
RATE_LIMIT_WAIT_S = 60.0
# the listing itself is not readable with an API key: a private playlist, a closed channel
_NOT_ACCESSIBLE_REASONS = {
    "playlistItemsNotAccessible": "the playlist is private (only public or unlisted playlists "
    "can be listed with an API key)",
    "playlistForbidden": "the playlist is private or its owner restricted it",
    "channelForbidden": "the channel does not allow this listing",
    "channelClosed": "the channel has been closed",
    "channelSuspended": "the channel has been suspended",
}


@dataclass(frozen=True)
class ListingRef:
    """What the operator named: ``kind`` says how to look ``value`` up."""

    kind: Literal["channel_id", "handle", "username", "custom", "playlist"]
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


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """Data API quotas reset at midnight Pacific time."""
    return seconds_until_pacific_midnight(now)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamUnavailable)


def client_options(api_key: SecretStr, base_url: str, timeout_s: float) -> dict[str, Any]:
    """What both Data API clients (sync here, async on the Worker) are built with. The key
    rides in a header, never in a URL an error or a log line might quote."""
    return {
        "base_url": base_url.rstrip("/") + "/",
        "timeout": timeout_s,
        "headers": {"X-Goog-Api-Key": api_key.get_secret_value(), "Accept": "application/json"},
    }


class YouTubeDataApi:
    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = "https://www.googleapis.com/youtube/v3",
        timeout_s: float = 20.0,
        attempts: int = 4,
        retry_wait_s: float = 1.0,
    ) -> None:
        self._client = httpx.Client(**client_options(api_key, base_url, timeout_s))
        # tenacity's decorator is built per instance so tests can use a zero wait
        self._get_json = retry(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=retry_wait_s, max=30 * retry_wait_s),
            reraise=True,
        )(self._get_once)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        key = settings.youtube_api_key
        if key is None or not key.get_secret_value().strip():
            raise ConfigError(
                "TUBEQ_YOUTUBE_API_KEY is not set: backfills list videos through the YouTube "
                "Data API v3; create a key in the Google Cloud console (APIs & Services → "
                "Credentials) with the YouTube Data API v3 enabled"
            )
        return cls(key, base_url=settings.youtube_api_url, timeout_s=settings.youtube_api_timeout_s)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- resolving ----------------------------------------------------------------------

    def resolve(self, ref: ListingRef) -> ListingTarget:
        if ref.kind == "playlist":
            return self._playlist(ref.value)
        if ref.kind == "channel_id":
            found = self._channel(id=ref.value)
        elif ref.kind == "handle":
            found = self._channel(forHandle=ref.value)
        elif ref.kind == "username":
            found = self._channel(forUsername=ref.value)
        else:
            # /c/<name> has no lookup in the API; most custom names are also the handle or
            # the legacy username, so try both (1 quota unit each) rather than search (100).
            found = self._channel(forHandle="@" + ref.value) or self._channel(forUsername=ref.value)
        if found is None:
            raise InvalidInput(
                f"no YouTube channel found for {ref.value!r}: check the URL, @handle or UC… id"
            )
        return found

    def _channel(self, **lookup: str) -> ListingTarget | None:
        data = self._get_json("channels", {"part": "contentDetails,snippet", **lookup})
        items = data.get("items") or []
        if not items:
            return None
        item = items[0]
        uploads = item.get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
        if not uploads:
            raise UpstreamUnavailable(f"channel {item.get('id')} has no uploads playlist listed")
        return ListingTarget("channel", item["id"], item.get("snippet", {}).get("title"), uploads)

    def _playlist(self, playlist_id: str) -> ListingTarget:
        data = self._get_json("playlists", {"part": "snippet", "id": playlist_id})
        items = data.get("items") or []
        if not items:
            raise InvalidInput(
                f"no YouTube playlist {playlist_id!r} (or it is private): check the list= id"
            )
        title = items[0].get("snippet", {}).get("title")
        return ListingTarget("playlist", playlist_id, title, playlist_id)

    # ---- listing ------------------------------------------------------------------------

    def playlist_pages(self, playlist_id: str) -> Iterator[list[PlaylistEntry]]:
        """A playlist's entries one page (one quota unit) at a time; lazy, so a caller that
        stops early saves the remaining pages."""
        token: str | None = None
        while True:
            params = {"part": "contentDetails", "playlistId": playlist_id, "maxResults": PAGE_SIZE}
            if token:
                params["pageToken"] = token
            data = self._get_json("playlistItems", params)
            page: list[PlaylistEntry] = []
            for item in data.get("items") or []:
                details = item.get("contentDetails", {})
                if details.get("videoId"):
                    page.append(
                        PlaylistEntry(
                            details["videoId"], _parse_time(details.get("videoPublishedAt"))
                        )
                    )
            yield page
            token = data.get("nextPageToken")
            if not token:
                return

    def playlist_entries(self, playlist_id: str) -> Iterator[PlaylistEntry]:
        """Every entry of a playlist, page by page (a lazy iterator: stop early to save quota)."""
        for page in self.playlist_pages(playlist_id):
            yield from page

    def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        """Metadata and live state of the videos that still exist (deleted or private ones
        are absent)."""
        out: dict[str, VideoDetails] = {}
        for start in range(0, len(video_ids), PAGE_SIZE):
            chunk = video_ids[start : start + PAGE_SIZE]
            # no maxResults: the API does not support it together with id
            data = self._get_json(
                "videos", {"part": "snippet,contentDetails", "id": ",".join(chunk)}
            )
            for item in data.get("items") or []:
                snippet = item.get("snippet", {})
                meta = VideoMeta(
                    video_id=item["id"],
                    title=snippet.get("title"),
                    channel_id=snippet.get("channelId"),
                    channel_title=snippet.get("channelTitle"),
                    published_at=_parse_time(snippet.get("publishedAt")),
                    duration_s=parse_iso_duration(item.get("contentDetails", {}).get("duration")),
                )
                live = str(snippet.get("liveBroadcastContent") or "none")
                out[item["id"]] = VideoDetails(meta, live)
        return out

    def videos(self, video_ids: Sequence[str]) -> dict[str, VideoMeta]:
        """Metadata of the videos that still exist (deleted or private ones are absent)."""
        return {vid: d.meta for vid, d in self.video_details(video_ids).items()}

    # ---- HTTP ---------------------------------------------------------------------------

    def _get_once(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self._client.get(endpoint, params=params)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"YouTube Data API unreachable ({type(exc).__name__}): {exc}"
            ) from exc
        if resp.status_code >= 400:
            raise _api_error(resp)
        data: dict[str, Any] = resp.json()
        return data


def _error_reasons(error: dict[str, Any]) -> set[str]:
    reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
    reasons |= {d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)}
    return {r for r in reasons if isinstance(r, str)}


def _is_bad_key(status: int, reasons: set[str], message: str) -> bool:
    if reasons & _BAD_KEY_REASONS:
        return True
    # a bare 403 "forbidden" is a key problem only when the message says so (a key
    # restricted to other APIs, referrers or IPs); otherwise it is about the resource
    lowered = message.lower()
    return status in (401, 403) and "forbidden" in reasons and "api key" in lowered


def _api_error(resp: httpx.Response) -> TubeqError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or resp.text[:300])
    reasons = _error_reasons(error)
    status = resp.status_code
    if reasons & _DAILY_QUOTA_REASONS:
        wait = seconds_until_quota_reset()
        return RateLimited(
            "YouTube Data API quota exhausted for today (10,000 units by default); it resets "
            f"at midnight Pacific time, in about {wait / 3600:.1f} h. Re-run the backfill then "
            "(nothing is enqueued twice), or ask Google for more quota",
            retry_after=wait,
        )
    if reasons & _RATE_LIMIT_REASONS:
        return RateLimited(
            f"YouTube Data API rate limit ({message}): too many requests a minute; "
            "wait a minute and re-run the backfill (nothing is enqueued twice)",
            retry_after=RATE_LIMIT_WAIT_S,
        )
    if _is_bad_key(status, reasons, message):
        return ConfigError(
            f"the YouTube Data API rejected the key ({message}): check TUBEQ_YOUTUBE_API_KEY "
            "and that the YouTube Data API v3 is enabled for its project"
        )
    for reason, why in _NOT_ACCESSIBLE_REASONS.items():
        if reason in reasons:
            return InvalidInput(
                f"cannot list this channel or playlist: {why} ({reason}: {message}); "
                "only public channels and playlists can be backfilled"
            )
    if status == 404:
        return InvalidInput(
            f"YouTube Data API: not found ({message}); check the channel or playlist"
        )
    if status == 401:
        return ConfigError(
            f"the YouTube Data API refused the request ({message}): check TUBEQ_YOUTUBE_API_KEY"
        )
    if status == 403:
        # the key was not blamed above: this resource is off limits, not every request
        return UpstreamRejected(f"YouTube Data API answered HTTP 403: {message}")
    return from_status(status, message, service="YouTube Data API")
