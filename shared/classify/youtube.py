"""youtube-transcript-api failures mapped to tubeq's errors.

The library raises one exception class per cause; what matters to the consumer is whether
retrying can help. A video that is gone, private, age-restricted, or has no transcript in
the requested languages stays that way (permanent). A block (recaptcha page, HTTP 429,
"confirm you're not a bot") lifts with time or another IP, so it is transient with a long
floor delay (``RequestBlocked.min_delay_s``). Network errors raised by ``requests`` itself
are left to the generic HTTP mapper.
"""

from __future__ import annotations

import re

from shared import errors
from shared.logging import redact_text

_STATUS = re.compile(r"\b([1-5]\d\d)\b")
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
    text = f"YouTube request for video {video_id} failed: {redact_text(reason)[:300]}"
    if status == 429:
        return errors.RateLimited(text)
    return errors.UpstreamUnavailable(text)


def map_exception(exc: BaseException) -> errors.TubeqError | None:
    import youtube_transcript_api as yta
    from youtube_transcript_api.proxies import InvalidProxyConfig

    if isinstance(exc, InvalidProxyConfig):
        return errors.ConfigError(f"invalid YouTube proxy settings: {exc}")
    if not isinstance(exc, yta.CouldNotRetrieveTranscript):
        return None
    vid = exc.video_id
    # Most specific first: IpBlocked is a RequestBlocked, every class a CouldNotRetrieve….
    if isinstance(exc, yta.RequestBlocked):
        return errors.RequestBlocked(
            f"YouTube blocked the request for video {vid} (recaptcha, bot check or "
            f"HTTP 429): {_PROXY_HINT}"
        )
    if isinstance(exc, yta.TranscriptsDisabled):
        return errors.TranscriptsDisabled(f"video {vid} has transcripts (captions) disabled")
    if isinstance(exc, yta.NoTranscriptFound):
        langs = ", ".join(exc._requested_language_codes)
        return errors.NoTranscriptFound(
            f"video {vid} has no transcript in the requested languages ({langs}); "
            "add languages to TUBEQ_YOUTUBE_LANGUAGES or set TUBEQ_YOUTUBE_TRANSLATE_TO"
        )
    if isinstance(exc, (yta.NotTranslatable, yta.TranslationLanguageNotAvailable)):
        return errors.NoTranscriptFound(
            f"video {vid}: YouTube cannot translate its transcript to the requested "
            "language (TUBEQ_YOUTUBE_TRANSLATE_TO)"
        )
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
