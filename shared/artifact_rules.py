"""What every artifact store agrees on: which keys are valid and how long a shared link may
live. The local store and R2 both check with these, so a key or a lifetime the embedded
store accepts works on R2 too (and the CLI checks a lifetime before asking either).
"""

from __future__ import annotations

import re
from datetime import timedelta

from shared.errors import InvalidInput

#: S3's and R2's key limit; a key valid here is valid there
MAX_KEY_BYTES = 1024
#: a prefix no key may use: the local store keeps each object's content type under it
RESERVED_PREFIX = ".tubeq-meta"

#: SigV4 presigned URLs are valid for 1 s up to 7 days (S3's and R2's hard limit).
MIN_LINK_LIFETIME = timedelta(seconds=1)
MAX_LINK_LIFETIME = timedelta(days=7)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def validate_key(key: str) -> str:
    """``key`` if it is a safe relative object key, else InvalidInput saying why."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("artifact key is empty: give a relative key such as 'reports/x.md'")
    problem = None
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        problem = f"is longer than {MAX_KEY_BYTES} bytes"
    elif "\x00" in key or any(ord(c) < 32 for c in key):
        problem = "contains a control character"
    elif "\\" in key:
        problem = "contains a backslash; use '/' between folders"
    elif key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        problem = "is absolute; keys are relative to the store"
    elif any(part in ("", ".", "..") for part in key.split("/")):
        problem = "has an empty, '.' or '..' path segment"
    elif key.split("/", 1)[0] == RESERVED_PREFIX:
        problem = f"uses the reserved prefix {RESERVED_PREFIX!r}"
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
