"""What every artifact store agrees on: which keys are valid, how long a shared link may
live, and the name a download is saved under. The local store and R2 both check with these,
so a key or a lifetime the embedded store accepts works on R2 too (and the CLI checks a
lifetime before asking either).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from urllib.parse import quote

from shared.errors import InvalidInput

#: S3's and R2's key limit; a key valid here is valid there
MAX_KEY_BYTES = 1024
#: No key may have a path segment starting with this: the local store keeps its own files
#: under such names (content types, links, temporary files; see ``local_artifacts``).
RESERVED_NAME_PREFIX = ".tubeq-"
#: the local store keeps each object's content type under this (reserved) folder
RESERVED_PREFIX = ".tubeq-meta"

#: SigV4 presigned URLs are valid for 1 s up to 7 days (S3's and R2's hard limit).
MIN_LINK_LIFETIME = timedelta(seconds=1)
MAX_LINK_LIFETIME = timedelta(days=7)

#: C0 control characters (NUL included): never in a key
_CONTROL = re.compile(r"[\x00-\x1f]")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def validate_key(key: str) -> str:
    """``key`` if it is a safe relative object key, else InvalidInput saying why."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("artifact key is empty: give a relative key such as 'reports/x.md'")
    problem = None
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        problem = f"is longer than {MAX_KEY_BYTES} bytes"
    elif _CONTROL.search(key):  # one C scan (a generator over the characters was not)
        problem = "contains a control character"
    elif "\\" in key:
        problem = "contains a backslash; use '/' between folders"
    elif key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        problem = "is absolute; keys are relative to the store"
    elif any(part in ("", ".", "..") for part in key.split("/")):
        problem = "has an empty, '.' or '..' path segment"
    elif any(part.startswith(RESERVED_NAME_PREFIX) for part in key.split("/")):
        problem = f"uses a reserved name (no path segment may start with {RESERVED_NAME_PREFIX!r})"
    if problem:
        raise InvalidInput(f"artifact key {key!r} {problem}")
    return key


def check_link_lifetime(expires_in: timedelta) -> timedelta:
    """Refuse a link lifetime outside 1 s … 7 days, saying what is allowed."""
    if not MIN_LINK_LIFETIME <= expires_in <= MAX_LINK_LIFETIME:
        raise InvalidInput(
            f"a link cannot live {_describe(expires_in)}: presigned links are valid for "
            "1 second up to 7 days (e.g. 90s, 15m, 1h, 7d; TUBEQ_PRESIGN_EXPIRY_S)"
        )
    return expires_in


def parse_link_lifetime(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h``, ``7d`` (or plain seconds) into a checked lifetime."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInput(
            f"cannot read the duration {text!r}: write a whole number with a unit, "
            "s, m, h or d (e.g. 90s, 15m, 1h, 7d)"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return check_link_lifetime(timedelta(seconds=seconds))


def _describe(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:g} seconds" if seconds < 3600 else f"{seconds / 3600:g} hours"


# ---- download names ----------------------------------------------------------------------

#: the artifact keys ``shared.artifacts`` makes: what each is called when downloaded
_TRANSCRIPT_KEY = re.compile(r"^transcripts/(?P<vid>[^/]+)\.(?P<ext>[A-Za-z0-9]+)$")
_REPORT_KEY = re.compile(r"^reports/(?P<vid>[^/]+)/[^/]+\.(?P<ext>[A-Za-z0-9]+)$")
#: characters no saved file name may hold: quotes (they end the header's quoted string),
#: path separators, and what Windows refuses in a name
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|%;]+')
_MAX_TITLE_CHARS = 100


def download_name(key: str, title: str | None = None) -> str:
    """The file name a download of ``key`` is saved as: ``<title or video id>-<kind>.<ext>``.

    Only the keys ``shared.artifacts`` makes have a kind; any other key (an export, a
    doctor probe) is saved under its last segment. The title is cleaned of quotes, path
    characters and control characters, so the name is always one safe path segment.
    """
    validate_key(key)
    for pattern, kind in ((_TRANSCRIPT_KEY, "transcript"), (_REPORT_KEY, "report")):
        match = pattern.match(key)
        if match:
            stem = _clean_title(title) if title else ""
            return f"{stem or match['vid']}-{kind}.{match['ext']}"
    return _clean_title(key.rsplit("/", 1)[-1]) or "download"


def content_disposition(key: str, title: str | None = None) -> str:
    """``attachment`` with the download name (RFC 6266).

    A non-ASCII name goes in ``filename*=UTF-8''…`` (RFC 5987) with a plain ``filename``
    before it for old clients: the title with its accents dropped when that loses nothing
    else, or else the video-id name.
    """
    name = download_name(key, title)
    if name.isascii():
        return f'attachment; filename="{name}"'
    folded = _ascii_fold(name)
    fallback = folded if folded is not None else download_name(key)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _clean_title(title: str) -> str:
    text = unicodedata.normalize("NFC", title)
    text = " ".join(_UNSAFE_IN_NAME.sub(" ", text).split())
    # a name starting with a dot is hidden, one ending in a dot or space is refused by Windows
    return text[:_MAX_TITLE_CHARS].strip(" .")


def _ascii_fold(name: str) -> str | None:
    """``name`` without its accents, or None when some character has no ASCII form."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded if folded.isascii() else None
