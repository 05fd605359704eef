"""Turning what operators paste (ids, every common YouTube URL form) into video ids.

Kept free of pydantic so the producer, the API and the Worker entry can all use it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from shared.errors import InvalidInput

VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")
#: longer than any YouTube URL worth parsing (browsers cap URLs near 2 KB): refused unparsed
MAX_REF_CHARS = 2_048
#: how much of a bad input an error message echoes
_ECHO_CHARS = 80

# Hosts that serve a video page; m. and music. behave like www.
_WATCH_HOSTS = {
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
    "youtube-nocookie.com",
    "www.youtube-nocookie.com",
}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
# Path prefixes whose next segment is the id: /shorts/ID, /embed/ID, /live/ID, /v/ID, /e/ID
_ID_PATH_PREFIXES = {"shorts", "embed", "live", "v", "e"}


def is_video_id(value: str) -> bool:
    return bool(VIDEO_ID_RE.fullmatch(value))


def shown(raw: str) -> str:
    """``raw`` as an error message echoes it: quoted, and cut when long."""
    if len(raw) <= _ECHO_CHARS:
        return repr(raw)
    return f"{raw[:_ECHO_CHARS]!r}… ({len(raw):,} characters)"


def parse_video_ref(raw: str) -> str:
    """Return the 11-character video id in ``raw`` (an id or a URL), or raise InvalidInput."""
    text = _stripped(raw)
    if is_video_id(text):
        return text
    candidate = text
    if "://" not in candidate and re.match(r"^(www\.|m\.)?(youtube\.com|youtu\.be)/", candidate):
        candidate = "https://" + candidate
    if "://" not in candidate:
        raise InvalidInput(
            f"{shown(raw)} is not a video id: an id is 11 characters of A-Z, a-z, 0-9, '_' or '-'"
        )
    parts = urlsplit(candidate)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    video_id: str | None = None
    if host in _SHORT_HOSTS:
        video_id = segments[0] if segments else None
    elif host in _WATCH_HOSTS:
        if segments[:1] == ["watch"] or not segments:
            video_id = _first(parse_qs(parts.query).get("v"))
        elif segments[0] in _ID_PATH_PREFIXES and len(segments) > 1:
            video_id = segments[1]
        elif segments[0] == "attribution_link":
            inner = _first(parse_qs(parts.query).get("u")) or ""
            video_id = _first(parse_qs(urlsplit(inner).query).get("v"))
    else:
        raise InvalidInput(f"{shown(raw)} is not a YouTube URL (host {shown(host or '?')})")
    if video_id is None:
        raise InvalidInput(
            f"{shown(raw)} is a YouTube URL but names no video: "
            "use a watch?v=, youtu.be/, shorts/, embed/ or live/ link"
        )
    if not is_video_id(video_id):
        raise InvalidInput(
            f"{shown(raw)} names video {shown(video_id)}, which is not 11 valid characters"
        )
    return video_id


def _stripped(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidInput("empty input: give a video id (11 characters) or a YouTube URL")
    if len(text) > MAX_REF_CHARS:
        raise InvalidInput(
            f"{shown(raw)} is too long to be a video id or a YouTube URL "
            f"(over {MAX_REF_CHARS:,} characters): one id or URL per line"
        )
    return text


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None
