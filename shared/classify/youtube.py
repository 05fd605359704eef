"""youtube-transcript-api failures mapped to tubeq's errors.

The library raises one exception class per cause; what matters to the consumer is whether
retrying can help. A video that is gone, private, age-restricted, or has no transcript in
the requested languages stays that way (permanent). A block (recaptcha page, HTTP 429,
"confirm you're not a bot") lifts with time or another IP, so it is transient with a long
floor delay (``RequestBlocked.min_delay_s``).

"No transcript" has two meanings the pipeline must tell apart, because only the first may
fall back to the video input (~20x the cost of a transcript): captions disabled or no caption
track at all (``TranscriptsDisabled``, ``NoTranscriptFound``), versus tracks that exist but
none in the wanted languages, or none translatable to the target
(``NoTranscriptInLanguages``, which names what is available and the settings to change).

A proxy that answers 407 has refused our credentials: retrying cannot fix that, so it is a
``ConfigError`` naming the proxy settings, not a network error. Other network errors raised
by ``requests`` itself are left to the generic HTTP mapper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared import errors
from shared.logging import redact_text

_STATUS = re.compile(r"\b([1-5]\d\d)\b")
_PROXY_AUTH = re.compile(r"\b407\b|Proxy Authentication Required", re.IGNORECASE)
_PROXY_SETTINGS = (
    "the proxy refused its credentials (HTTP 407 Proxy Authentication Required): check "
    "TUBEQ_WEBSHARE_PROXY_USERNAME and TUBEQ_WEBSHARE_PROXY_PASSWORD (TUBEQ_YOUTUBE_PROXY="
    "webshare; the proxy username and password from dashboard.webshare.io, not the account "
    "login) or the user:password in TUBEQ_HTTP_PROXY / TUBEQ_HTTPS_PROXY (generic)"
)
_PROXY_HINT = (
    "set TUBEQ_YOUTUBE_PROXY=webshare (rotating residential) or generic; "
    "cloud IPs are usually blocked by YouTube"
)


def _first_status(text: str) -> int | None:
    match = _STATUS.search(text)
    return int(match.group(1)) if match else None


def _from_request_failed(video_id: str, reason: str) -> errors.TubeqError:
    # The library keeps only str(HTTPError), e.g. "503 Server Error: ... for url: ...".
    status = _first_status(reason)
    if status == 407:  # a plain-HTTP proxy answers 407 as a response, not a tunnel error
        return errors.ConfigError(f"YouTube request for video {video_id}: {_PROXY_SETTINGS}")
    text = f"YouTube request for video {video_id} failed: {redact_text(reason)[:300]}"
    if status == 429:
        return errors.RateLimited(text)
    return errors.UpstreamUnavailable(text)


def _proxy_auth_failed(exc: BaseException) -> bool:
    """requests' ProxyError for a CONNECT tunnel the proxy answered with 407."""
    import requests

    if not isinstance(exc, requests.exceptions.ProxyError):
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    # the status is in urllib3's wrapped error ("Tunnel connection failed: 407 …")
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if _PROXY_AUTH.search(str(cause)):
            return True
        args = [a for a in cause.args if isinstance(a, BaseException)]
        cause = cause.__cause__ or cause.__context__ or (args[0] if args else None)
    return False


def available_languages(listing: object) -> list[str]:
    """``de (manual)``, ``en (auto-generated)``, … for a library ``TranscriptList``."""
    out = []
    for t in listing if isinstance(listing, Iterable) else ():
        code = getattr(t, "language_code", None)
        if code:
            kind = "auto-generated" if getattr(t, "is_generated", False) else "manual"
            out.append(f"{code} ({kind})")
    return out


def _wanted(codes: Iterable[str]) -> str:
    return ", ".join(codes) or "none"


def _map_missing(exc: BaseException) -> errors.TubeqError | None:
    """The three "no transcript" causes: only the first two allow the video fallback."""
    import youtube_transcript_api as yta

    if not isinstance(exc, yta.CouldNotRetrieveTranscript):
        return None
    vid = exc.video_id
    if isinstance(exc, yta.TranscriptsDisabled):
        return errors.TranscriptsDisabled(f"video {vid} has transcripts (captions) disabled")
    if isinstance(exc, yta.NoTranscriptFound):
        wanted = _wanted(exc._requested_language_codes)
        available = available_languages(exc._transcript_data)
        if not available:  # no caption track at all: the video fallback may step in
            return errors.NoTranscriptFound(f"video {vid} has no transcript (no caption tracks)")
        return errors.NoTranscriptInLanguages(
            f"video {vid} has no transcript in the wanted languages ({wanted}); available: "
            f"{', '.join(available)}. Add one to TUBEQ_YOUTUBE_LANGUAGES, or set "
            "TUBEQ_YOUTUBE_TRANSLATE_TO to have YouTube translate one"
        )
    if isinstance(exc, (yta.NotTranslatable, yta.TranslationLanguageNotAvailable)):
        return errors.NoTranscriptInLanguages(
            f"video {vid} has a transcript, but YouTube cannot translate it to the requested "
            "language (TUBEQ_YOUTUBE_TRANSLATE_TO); add its language to "
            "TUBEQ_YOUTUBE_LANGUAGES instead"
        )
    return None


def map_exception(exc: BaseException) -> errors.TubeqError | None:
    import youtube_transcript_api as yta
    from youtube_transcript_api.proxies import InvalidProxyConfig

    if isinstance(exc, InvalidProxyConfig):
        return errors.ConfigError(f"invalid YouTube proxy settings: {exc}")
    if _proxy_auth_failed(exc):
        return errors.ConfigError(f"YouTube request: {_PROXY_SETTINGS}")
    if not isinstance(exc, yta.CouldNotRetrieveTranscript):
        return None
    vid = exc.video_id
    # Most specific first: IpBlocked is a RequestBlocked, every class a CouldNotRetrieve….
    if isinstance(exc, yta.RequestBlocked):
        return errors.RequestBlocked(
            f"YouTube blocked the request for video {vid} (recaptcha, bot check or "
            f"HTTP 429): {_PROXY_HINT}"
        )
    missing = _map_missing(exc)
    if missing is not None:
        return missing
    if isinstance(exc, yta.InvalidVideoId):
        return errors.InvalidVideoId(f"{vid!r} is not a valid video id")
    if isinstance(exc, yta.VideoUnavailable):
        return errors.VideoUnavailable(
            f"video {vid} is unavailable (private, removed or never existed)"
        )
    if isinstance(exc, yta.AgeRestricted):
        return errors.AgeRestricted(f"video {vid} is age-restricted; YouTube wants a sign-in")
    if isinstance(exc, yta.VideoUnplayable):
        why = exc.reason or "no reason given"
        details = "; ".join(s for s in exc.sub_reasons if s)
        return errors.VideoUnplayable(
            f"video {vid} is unplayable: {why}" + (f" ({details})" if details else "")
        )
    if isinstance(exc, yta.YouTubeRequestFailed):
        return _from_request_failed(vid, exc.reason)
    # YouTubeDataUnparsable, PoTokenRequired, FailedToCreateConsentCookie: YouTube changed
    # or hiccuped; retry, and the dead-letter queue keeps it if it persists.
    return errors.UpstreamUnavailable(
        f"could not read YouTube's reply for video {vid}: {type(exc).__name__}"
    )
