"""YouTube: a transcript through the configured adapter and proxy, and the Data API key.

The transcript check fetches ``TUBEQ_DOCTOR_VIDEO_ID`` exactly as a consumer would (same
adapter, languages, proxy), so a blocked IP shows up here instead of as a backlog of
retries. The Data API check is one ``videos.list`` of that video: 1 quota unit.
"""

from __future__ import annotations

from shared.doctor.common import capped, failed, from_error, passed, skipped
from shared.doctor.result import CheckResult
from shared.errors import (
    AccessDenied,
    AgeRestricted,
    ConfigError,
    InvalidVideoId,
    NoTranscriptFound,
    NoTranscriptInLanguages,
    RateLimited,
    RequestBlocked,
    TranscriptsDisabled,
    TubeqError,
    VideoUnavailable,
    VideoUnplayable,
)
from shared.settings import Settings

TRANSCRIPTS = "youtube-transcripts"
DATA_API = "youtube-data-api"

_BLOCKED_FIX = (
    "YouTube blocks this machine's IP (most cloud IPs are): set TUBEQ_YOUTUBE_PROXY=webshare "
    "with TUBEQ_WEBSHARE_PROXY_USERNAME and TUBEQ_WEBSHARE_PROXY_PASSWORD (rotating "
    "residential proxies), or TUBEQ_YOUTUBE_PROXY=generic with TUBEQ_HTTPS_PROXY"
)
_BLOCKED_VIA_PROXY_FIX = (
    "YouTube blocks the proxy's IP too: with webshare use the rotating residential plan "
    "(not a static/datacenter one) and check its credentials; with a generic proxy, use "
    "one whose addresses YouTube does not block"
)
_VIDEO_FIX = (
    "the connection works, but this video cannot be used for the check: set "
    "TUBEQ_DOCTOR_VIDEO_ID to a public video with captions in TUBEQ_YOUTUBE_LANGUAGES"
)
_REACH_FIX = (
    "check the network path to YouTube (TUBEQ_YOUTUBE_BASE_URL) and the proxy settings; "
    "then run `tubeq doctor` again"
)
_DATA_REACH_FIX = (
    "check the network path to the YouTube Data API (TUBEQ_YOUTUBE_API_URL); then run "
    "`tubeq doctor` again"
)
_DATA_KEY_FIX = (
    "set TUBEQ_YOUTUBE_API_KEY to a key from the Google Cloud console (APIs & Services → "
    "Credentials) with the YouTube Data API v3 enabled for its project"
)


def check_transcripts(settings: Settings, timeout_s: float) -> list[CheckResult]:
    name = "transcript fetched"
    if settings.transcript_backend != "youtube":
        return [skipped(TRANSCRIPTS, name, "not configured (TUBEQ_TRANSCRIPT_BACKEND)")]
    from shared.factory import build_youtube_transcripts

    video = settings.doctor_video_id
    capped_settings = settings.model_copy(
        update={"youtube_timeout_s": capped(settings.youtube_timeout_s, timeout_s)}
    )
    try:
        source = build_youtube_transcripts(capped_settings.youtube_transcripts)
    except TubeqError as exc:
        return [from_error(TRANSCRIPTS, name, exc, "fix the YouTube settings named above")]
    try:
        transcript = source.fetch(video)
    except RequestBlocked as exc:
        proxied = settings.youtube_proxy != "none"
        return [
            failed(
                TRANSCRIPTS,
                name,
                f"{video}: blocked ({exc.message})",
                _BLOCKED_VIA_PROXY_FIX if proxied else _BLOCKED_FIX,
            )
        ]
    except (
        VideoUnavailable,
        TranscriptsDisabled,
        NoTranscriptFound,
        NoTranscriptInLanguages,
        InvalidVideoId,
        AgeRestricted,
        VideoUnplayable,
    ) as exc:
        return [failed(TRANSCRIPTS, name, f"{video}: {exc.message}", _VIDEO_FIX)]
    except TubeqError as exc:
        fix = "fix the setting named above" if isinstance(exc, ConfigError) else _REACH_FIX
        return [from_error(TRANSCRIPTS, name, exc, fix)]
    finally:
        source.close()
    via = f" through the {settings.youtube_proxy} proxy" if settings.youtube_proxy != "none" else ""
    detail = f"{video}: {len(transcript.segments)} segments in {transcript.language}{via}"
    return [passed(TRANSCRIPTS, name, detail)]


def check_data_api(settings: Settings, timeout_s: float) -> list[CheckResult]:
    name = "key valid"
    key = settings.youtube_api_key
    if key is None or not key.get_secret_value().strip():
        return [
            skipped(
                DATA_API,
                name,
                "not configured (TUBEQ_YOUTUBE_API_KEY; without it backfills read the "
                "listings in TUBEQ_LISTINGS_DIR)",
            )
        ]
    from shared.youtube_data_api import YouTubeDataApi

    api = YouTubeDataApi(
        key,
        base_url=settings.youtube_api_url,
        timeout_s=capped(settings.youtube_api_timeout_s, timeout_s),
        attempts=1,  # the doctor reports an outage; it does not wait it out
    )
    try:
        found = api.video_details([settings.doctor_video_id])
    except (ConfigError, AccessDenied) as exc:
        return [failed(DATA_API, name, exc.message, _DATA_KEY_FIX)]
    except RateLimited as exc:
        # the key was accepted; its quota is what ran out
        return [failed(DATA_API, name, exc.message, "wait for the quota to reset", transient=True)]
    except TubeqError as exc:
        return [from_error(DATA_API, name, exc, _DATA_REACH_FIX)]
    finally:
        api.close()
    seen = "found" if settings.doctor_video_id in found else "not found (the key still works)"
    return [passed(DATA_API, name, f"videos.list answered (1 quota unit); the doctor video {seen}")]
