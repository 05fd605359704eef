"""A local stand-in for the three YouTube endpoints youtube-transcript-api 1.2 calls.

1. ``GET /watch?v=ID``: the watch page; the library reads ``"INNERTUBE_API_KEY"`` from it,
   answers a consent page (``action="https://consent.youtube.com/s"``) by setting a
   ``CONSENT`` cookie from ``name="v" value=…``, and treats a ``g-recaptcha`` page as an
   IP block.
2. ``POST /youtubei/v1/player?key=KEY`` with ``{"context": …, "videoId": …}``: the player
   reply with ``playabilityStatus`` and ``captions.playerCaptionsTracklistRenderer``
   (``captionTracks`` with ``baseUrl``, ``name.runs[0].text``, ``languageCode``, ``kind``
   ("asr" for auto-generated), ``isTranslatable``; ``translationLanguages``).
3. ``GET /api/timedtext?…`` (a track's ``baseUrl``): ``<transcript><text start dur>``
   XML; with ``&tlang=xx`` the translation.

Track ``baseUrl``s point at ``https://www.youtube.com`` like the real ones, so a test
proves the client's routing adapter works. Runs in a thread on 127.0.0.1.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.loopback import LoopbackServer

API_KEY = "AIzaStubInnertubeKey_0123456789"
BOT_REASON = "Sign in to confirm you’re not a bot"
AGE_REASON = "This video may be inappropriate for some users."
UNAVAILABLE_REASON = "This video is unavailable"

TRANSLATION_LANGUAGES = {"en": "English", "de": "German", "fr": "French", "ja": "Japanese"}


@dataclass
class Track:
    language: str
    name: str
    segments: list[tuple[float, float, str]]
    generated: bool = False
    translatable: bool = True


@dataclass
class StubVideo:
    tracks: list[Track] = field(default_factory=list)
    #: "ok", "disabled", "unavailable", "age_restricted", "bot", "recaptcha", "429",
    #: "500", "slow"
    state: str = "ok"
    delay_s: float = 0.0


class YouTubeStub:
    def __init__(
        self,
        *,
        require_consent: bool = False,
        default_video: StubVideo | None = None,
        port: int = 0,
    ) -> None:
        self.videos: dict[str, StubVideo] = {}
        #: served for ids not added (e2e runs: any backfilled id gets a transcript)
        self.default_video = default_video
        self.require_consent = require_consent
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler(), port=port)

    @property
    def url(self) -> str:
        return self._http.origin

    def add(self, video_id: str, video: StubVideo) -> None:
        self.videos[video_id] = video

    def video(self, video_id: str) -> StubVideo | None:
        return self.videos.get(video_id, self.default_video)

    def count(self, method: str, path_prefix: str) -> int:
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    def __enter__(self) -> YouTubeStub:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    # ---- the endpoints ------------------------------------------------------------------

    def watch_page(self, video_id: str, cookies: str) -> tuple[int, str]:
        video = self.video(video_id) or StubVideo(state="unavailable")
        if video.state == "429":
            return 429, "<html>Too Many Requests</html>"
        if video.state == "recaptcha":
            return 200, (
                '<html><body><form><div class="g-recaptcha" data-sitekey="x"></div>'
                "</form></body></html>"
            )
        if self.require_consent and "CONSENT=YES+" not in cookies:
            return 200, (
                '<html><form action="https://consent.youtube.com/s" method="POST">'
                '<input type="hidden" name="v" value="cb.20240101-00-p0.en+FX+123">'
                "</form></html>"
            )
        config = json.dumps({"INNERTUBE_API_KEY": API_KEY, "VIDEO_ID": video_id})
        return 200, f"<html><script>ytcfg.set({config});</script><body>{video_id}</body></html>"

    def player(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if key != API_KEY:
            return 400, {"error": {"code": 400, "message": "API key not valid"}}
        client = body.get("context", {}).get("client", {})
        if not client.get("clientName"):
            return 400, {"error": {"code": 400, "message": "missing context.client"}}
        video_id = str(body.get("videoId", ""))
        video = self.video(video_id) or StubVideo(state="unavailable")
        if video.state == "500":
            return 503, {"error": {"code": 503, "message": "backend error"}}
        if video.state == "slow":
            time.sleep(video.delay_s)
        status = _playability(video.state)
        reply: dict[str, Any] = {"playabilityStatus": status, "videoDetails": {"videoId": video_id}}
        if video.state in ("ok", "slow"):
            reply["captions"] = {"playerCaptionsTracklistRenderer": _captions(video_id, video)}
        return 200, reply

    def timedtext(self, query: dict[str, list[str]]) -> tuple[int, str]:
        video_id = query.get("v", [""])[0]
        lang = query.get("lang", [""])[0]
        kind = query.get("kind", [""])[0]
        tlang = query.get("tlang", [None])[0]
        video = self.video(video_id)
        if video is None or "fmt" in query:  # the library strips &fmt=srv3
            return 404, ""
        track = next(
            (t for t in video.tracks if t.language == lang and t.generated == (kind == "asr")),
            None,
        )
        if track is None:
            return 404, ""
        parts = ['<?xml version="1.0" encoding="utf-8" ?><transcript>']
        for start, dur, text in track.segments:
            shown = f"[{tlang}] {text}" if tlang else text
            parts.append(f'<text start="{start}" dur="{dur}">{escape(shown, quote=False)}</text>')
        parts.append("</transcript>")
        return 200, "".join(parts)

    # ---- plumbing -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes; Nagle + delayed ACK would add 40 ms
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _send(self, status: int, body: str, content_type: str) -> None:
                data = body.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # the client gave up first (the timeout test): expected, not news
                    self.close_connection = True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with stub._lock:
                    stub.requests.append(("GET", parts.path))
                if parts.path == "/watch":
                    status, html = stub.watch_page(
                        query.get("v", [""])[0], self.headers.get("Cookie", "")
                    )
                    self._send(status, html, "text/html; charset=utf-8")
                elif parts.path == "/api/timedtext":
                    status, xml = stub.timedtext(query)
                    self._send(status, xml, "text/xml; charset=utf-8")
                else:
                    self._send(404, "not found", "text/plain")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with stub._lock:
                    stub.requests.append(("POST", parts.path))
                if parts.path != "/youtubei/v1/player":
                    self._send(404, "not found", "text/plain")
                    return
                key = parse_qs(parts.query).get("key", [""])[0]
                status, reply = stub.player(key, json.loads(raw or b"{}"))
                self._send(status, json.dumps(reply), "application/json")

        return Handler


class RefusingProxy:
    """An HTTP proxy on 127.0.0.1 that refuses every request with 407 (wrong credentials),
    both a CONNECT tunnel (https) and a plain forwarded request (http), as real proxies do."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                first = self.rfile.readline().decode("latin-1").strip()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                proxy.requests.append(first)
                self.wfile.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="proxy"\r\n'
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )

        self._tcp = LoopbackServer(Handler, http=False)

    @property
    def port(self) -> int:
        return self._tcp.port

    def __enter__(self) -> RefusingProxy:
        self._tcp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tcp.stop()


def _playability(state: str) -> dict[str, Any]:
    if state == "unavailable":
        return {"status": "ERROR", "reason": UNAVAILABLE_REASON}
    if state == "age_restricted":
        return {"status": "LOGIN_REQUIRED", "reason": AGE_REASON}
    if state == "bot":
        return {"status": "LOGIN_REQUIRED", "reason": BOT_REASON}
    if state == "unplayable":
        return {
            "status": "UNPLAYABLE",
            "reason": "Video unavailable",
            "errorScreen": {
                "playerErrorMessageRenderer": {
                    "subreason": {"runs": [{"text": "not available in your country"}]}
                }
            },
        }
    return {"status": "OK", "playableInEmbed": True}


def _captions(video_id: str, video: StubVideo) -> dict[str, Any]:
    tracks = []
    for t in video.tracks:
        params = {"v": video_id, "caps": "asr", "opi": "112496729", "lang": t.language}
        if t.generated:
            params["kind"] = "asr"
        track: dict[str, Any] = {
            "baseUrl": "https://www.youtube.com/api/timedtext?" + urlencode(params) + "&fmt=srv3",
            "name": {"runs": [{"text": t.name}]},
            "vssId": ("a." if t.generated else ".") + t.language,
            "languageCode": t.language,
            "isTranslatable": t.translatable,
            "trackName": "",
        }
        if t.generated:
            track["kind"] = "asr"
        tracks.append(track)
    return {
        "captionTracks": tracks,
        "audioTracks": [{"captionTrackIndices": list(range(len(tracks)))}],
        "translationLanguages": [
            {"languageCode": code, "languageName": {"runs": [{"text": name}]}}
            for code, name in TRANSLATION_LANGUAGES.items()
        ],
        "defaultAudioTrackIndex": 0,
    }


def main() -> None:
    """Serve on a fixed port for e2e runs: every video id gets a short English transcript.

    ``python -m tests.support.youtube_stub --port 8941`` then
    ``TUBEQ_TRANSCRIPT_BACKEND=youtube TUBEQ_YOUTUBE_BASE_URL=http://127.0.0.1:8941``.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8941)
    args = parser.parse_args()
    lines = [
        (0.0, 4.0, "Welcome to this talk about durable queues."),
        (4.0, 5.0, "Every message is delivered at least once, so every step is idempotent."),
        (9.0, 4.5, "Leases expire, retries back off, and dead letters can be redriven."),
    ]
    default = StubVideo(tracks=[Track("en", "English", lines)])
    with YouTubeStub(default_video=default, port=args.port) as stub:
        print(f"YouTube stub on {stub.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
