"""A local YouTube Data API v3 (the four list endpoints a backfill uses), on 127.0.0.1.

Speaks the real shapes: ``channels.list`` (``id`` / ``forHandle`` / ``forUsername``, part
``contentDetails,snippet``) with ``contentDetails.relatedPlaylists.uploads``;
``playlists.list``; ``playlistItems.list`` paged by ``maxResults`` (≤ 50) and
``nextPageToken``/``pageToken``; ``videos.list`` with up to 50 comma-separated ids and ISO
8601 ``contentDetails.duration`` and ``snippet.liveBroadcastContent``. Errors use Google's
envelope ``{"error": {"code", "message", "errors": [{"reason", "domain"}], "status",
"details"}}``; a bad key is answered as the API does today: 400 ``badRequest`` with a
``google.rpc.ErrorInfo`` detail whose reason is ``API_KEY_INVALID`` (``legacy_key_error``
switches to the older 400 ``keyInvalid`` shape). The key is accepted from ``X-Goog-Api-Key``
or ``?key=``, as Google does. ``videos.list`` refuses ``maxResults`` together with ``id``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback import LoopbackServer

API_KEY = "AIzaStubDataApiKey-0123456789abcdef"


@dataclass
class StubChannel:
    id: str
    title: str
    handle: str | None = None
    username: str | None = None
    video_ids: list[str] = field(default_factory=list)

    @property
    def uploads(self) -> str:
        return "UU" + self.id[2:]


@dataclass
class StubVideo:
    id: str
    title: str
    published_at: datetime
    duration: str = "PT10M"
    channel_id: str = ""
    channel_title: str = ""
    #: private/deleted: listed in the playlist without a date, absent from videos.list
    private: bool = False
    #: snippet.liveBroadcastContent: "none", "live" or "upcoming"
    live: str = "none"


class DataApiStub:
    def __init__(self, port: int = 0) -> None:
        self.channels: dict[str, StubChannel] = {}
        self.playlists: dict[str, tuple[str, list[str]]] = {}
        self.videos: dict[str, StubVideo] = {}
        self.api_key = API_KEY
        self.quota_exhausted = False
        #: answer the next N requests with a 503 (to exercise retries)
        self.fail_next = 0
        #: the Retry-After header those 503s carry (None: no header)
        self.retry_after: str | None = None
        #: answer the bad key with the pre-2020 shape (400 keyInvalid, no ErrorInfo)
        self.legacy_key_error = False
        #: endpoint → an error to answer every call with: (status, message, reason, domain)
        self.endpoint_errors: dict[str, tuple[int, str, str, str]] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler(), port=port)

    @property
    def url(self) -> str:
        return self._http.origin + "/youtube/v3"

    def __enter__(self) -> DataApiStub:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving (and, on a stub never started, just close its socket)."""
        self._http.stop()

    def endpoint_calls(self, name: str) -> list[dict[str, str]]:
        with self._lock:
            return [params for endpoint, params in self.calls if endpoint == name]

    # ---- fixtures -----------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        title: str,
        n_videos: int,
        *,
        handle: str | None = None,
        username: str | None = None,
        start: datetime = datetime(2024, 1, 1, 12, 0),
        duration: str = "PT10M",
    ) -> StubChannel:
        channel = StubChannel(channel_id, title, handle, username)
        # uploads are listed newest first, like YouTube's
        for n in reversed(range(n_videos)):
            vid = f"{channel_id[2:9]}{n:04d}"
            self.videos[vid] = StubVideo(
                vid, f"{title} #{n}", start + timedelta(days=n), duration, channel_id, title
            )
            channel.video_ids.append(vid)
        self.channels[channel_id] = channel
        self.playlists[channel.uploads] = (f"Uploads from {title}", channel.video_ids)
        return channel

    # ---- endpoints ----------------------------------------------------------------------

    def handle(self, endpoint: str, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if endpoint == "channels":
            return 200, self._channels(q)
        if endpoint == "playlists":
            found = self.playlists.get(q.get("id", ""))
            items = [{"id": q["id"], "snippet": {"title": found[0]}}] if found else []
            return 200, {"kind": "youtube#playlistListResponse", "items": items}
        if endpoint == "playlistItems":
            return self._playlist_items(q)
        if endpoint == "videos":
            return self._videos(q)
        return 404, _error(404, "Not Found", "notFound", "global")

    def _channels(self, q: dict[str, str]) -> dict[str, Any]:
        match: StubChannel | None = None
        for ch in self.channels.values():
            handle = q.get("forHandle", "").lstrip("@").lower()
            if (
                q.get("id") == ch.id
                or (handle and ch.handle and ch.handle.lstrip("@").lower() == handle)
                or (q.get("forUsername") and q.get("forUsername") == ch.username)
            ):
                match = ch
        reply: dict[str, Any] = {
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": int(match is not None), "resultsPerPage": 5},
        }
        if match is not None:  # like the real API: no "items" key at all when none match
            reply["items"] = [
                {
                    "kind": "youtube#channel",
                    "id": match.id,
                    "snippet": {"title": match.title, "customUrl": match.handle},
                    "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": match.uploads}},
                }
            ]
        return reply

    def _playlist_items(self, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        found = self.playlists.get(q.get("playlistId", ""))
        if found is None:
            return 404, _error(
                404,
                "The playlist identified with the request's playlistId parameter cannot be found.",
                "playlistNotFound",
                "youtube.playlistItem",
            )
        ids = found[1]
        size = min(50, int(q.get("maxResults", "5")))
        start = int(q.get("pageToken", "0") or 0)
        page = ids[start : start + size]
        items = []
        for vid in page:
            video = self.videos[vid]
            details: dict[str, Any] = {"videoId": vid}
            if not video.private:
                details["videoPublishedAt"] = video.published_at.isoformat() + "Z"
            items.append({"kind": "youtube#playlistItem", "contentDetails": details})
        reply: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": items,
            "pageInfo": {"totalResults": len(ids), "resultsPerPage": size},
        }
        if start + size < len(ids):
            reply["nextPageToken"] = str(start + size)
        return 200, reply

    def _videos(self, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        ids = [i for i in q.get("id", "").split(",") if i]
        if len(ids) > 50:
            return 400, _error(400, "too many ids", "tooManyIds", "youtube.parameter")
        if ids and "maxResults" in q:
            return 400, _error(
                400,
                "The request specifies incompatible parameters: maxResults is not supported "
                "together with id.",
                "incompatibleParameters",
                "youtube.parameter",
            )
        items = []
        for vid in ids:
            video = self.videos.get(vid)
            if video is None or video.private:
                continue
            items.append(
                {
                    "kind": "youtube#video",
                    "id": vid,
                    "snippet": {
                        "publishedAt": video.published_at.isoformat() + "Z",
                        "channelId": video.channel_id,
                        "title": video.title,
                        "channelTitle": video.channel_title,
                        "liveBroadcastContent": video.live,
                    },
                    "contentDetails": {"duration": video.duration, "definition": "hd"},
                }
            )
        return 200, {"kind": "youtube#videoListResponse", "items": items}

    def _gate(self, key: str) -> tuple[int, dict[str, Any]] | None:
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, _error(
                503, "The service is currently unavailable.", "backendError", "global"
            )
        if key != self.api_key:
            message = "API key not valid. Please pass a valid API key."
            if self.legacy_key_error:
                return 400, _error(400, message, "keyInvalid", "global")
            body = _error(400, message, "badRequest", "global")
            body["error"]["status"] = "INVALID_ARGUMENT"
            body["error"]["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "youtube.googleapis.com"},
                }
            ]
            return 400, body
        if self.quota_exhausted:
            return 403, _error(
                403,
                "The request cannot be completed because you have exceeded your quota.",
                "quotaExceeded",
                "youtube.quota",
            )
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                endpoint = parts.path.removeprefix("/youtube/v3/")
                key = self.headers.get("X-Goog-Api-Key") or q.pop("key", "")
                with stub._lock:
                    stub.calls.append((endpoint, q))
                    gated = stub._gate(key)
                    forced = stub.endpoint_errors.get(endpoint)
                if gated is None and forced is not None:
                    gated = forced[0], _error(*forced)
                status, body = gated or stub.handle(endpoint, q)
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 503 and stub.retry_after is not None:
                    self.send_header("Retry-After", stub.retry_after)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def export_listing(stub: DataApiStub, folder: Path) -> Path:
    """Write the stub's channels, playlists and videos as the directory listing's files:
    each file is exactly what the stub answers to the matching request (no server needed),
    so the contract suite feeds both listing adapters the same replies."""

    def write(path: Path, body: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=1), encoding="utf-8")

    (folder / "channels").mkdir(parents=True, exist_ok=True)
    for channel in stub.channels.values():
        write(folder / "channels" / f"{channel.id}.json", stub._channels({"id": channel.id}))
    for playlist_id in stub.playlists:
        _, playlist = stub.handle("playlists", {"id": playlist_id})
        write(folder / "playlists" / f"{playlist_id}.json", playlist)
        token, name = "", "first"
        while True:
            q = {"playlistId": playlist_id, "maxResults": "50", "pageToken": token}
            _, page = stub.handle("playlistItems", q)
            write(folder / "playlistItems" / playlist_id / f"{name}.json", page)
            if "nextPageToken" not in page:
                break
            token = name = page["nextPageToken"]
    for video_id in stub.videos:
        _, reply = stub.handle("videos", {"id": video_id})
        for item in reply["items"]:  # private videos have none: absent, as on YouTube
            write(folder / "videos" / f"{video_id}.json", item)
    return folder


def _error(code: int, message: str, reason: str, domain: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


def main() -> None:
    """Serve a demo channel on a fixed port for e2e runs.

    ``python -m tests.support.data_api_stub --port 8942 --videos 12`` then
    ``TUBEQ_YOUTUBE_API_URL=http://127.0.0.1:8942/youtube/v3 TUBEQ_YOUTUBE_API_KEY=<API_KEY>
    tubeq backfill @demochannel``.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8942)
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--channel", default="UCdemodemodemodemodemo00")
    args = parser.parse_args()
    with DataApiStub(port=args.port) as stub:
        stub.add_channel(args.channel, "Demo channel", args.videos, handle="@demochannel")
        print(f"Data API stub on {stub.url} (key {stub.api_key})", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
