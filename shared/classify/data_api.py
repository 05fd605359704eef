"""The YouTube Data API v3's errors → tubeq's, and the one retry policy for its calls.

Reasons come from ``error.errors[].reason`` (the legacy list) and from the ErrorInfo
``error.details[].reason`` the API sends today (a bad key is a 400 ``badRequest`` whose
ErrorInfo says ``API_KEY_INVALID``).

- a key the API refuses (invalid, expired, API not enabled, restricted) → ``AccessDenied``:
  systemic, nothing will list until the key is fixed;
- the daily quota → ``RateLimited`` until midnight Pacific; a per-minute limit → a minute;
- one channel or playlist that cannot be listed (private playlist, closed channel, not
  found) → ``InvalidInput`` for that listing only; another 403 → ``UpstreamRejected``;
- 5xx, 408, timeouts, network errors → ``UpstreamUnavailable``, retried (``DataApiRetry``).

Messages quote the API's own message, never the request: the key rides in a header, and
``redact_text`` masks anything key-like the message might echo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.classify.http import from_status, parse_retry_after, seconds_until_pacific_midnight
from shared.errors import (
    AccessDenied,
    InvalidInput,
    RateLimited,
    TransientError,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.logging import redact_text

SERVICE = "YouTube Data API"
KEY_SETTING = "TUBEQ_YOUTUBE_API_KEY"
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


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """Data API quotas reset at midnight Pacific time."""
    return seconds_until_pacific_midnight(now)


def error_reasons(error: Mapping[str, Any]) -> set[str]:
    reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, Mapping)}
    reasons |= {d.get("reason") for d in error.get("details") or [] if isinstance(d, Mapping)}
    return {r for r in reasons if isinstance(r, str)}


def _is_bad_key(status: int, reasons: set[str], message: str) -> bool:
    if reasons & _BAD_KEY_REASONS:
        return True
    # a bare 403 "forbidden" is a key problem only when the message says so (a key
    # restricted to other APIs, referrers or IPs); otherwise it is about the resource
    return status in (401, 403) and "forbidden" in reasons and "api key" in message.lower()


def from_reply(
    status: int, body: object, text: str = "", headers: Mapping[str, str] | None = None
) -> TubeqError:
    """An error reply (``status`` ≥ 400, ``body`` its parsed JSON if any) → a tubeq error."""
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    message = redact_text(str(error.get("message") or text[:300]))
    reasons = error_reasons(error)
    if reasons & _DAILY_QUOTA_REASONS:
        wait = seconds_until_quota_reset()
        return RateLimited(
            f"{SERVICE} quota exhausted for today (10,000 units by default); it resets at "
            f"midnight Pacific time, in about {wait / 3600:.1f} h. Re-run the backfill then "
            "(nothing is enqueued twice), or ask Google for more quota",
            retry_after=wait,
        )
    if reasons & _RATE_LIMIT_REASONS:
        return RateLimited(
            f"{SERVICE} rate limit ({message}): too many requests a minute; "
            "wait a minute and re-run the backfill (nothing is enqueued twice)",
            retry_after=RATE_LIMIT_WAIT_S,
        )
    if _is_bad_key(status, reasons, message) or status == 401:
        return AccessDenied(
            f"the {SERVICE} rejected the key ({message}): check {KEY_SETTING} and that the "
            "YouTube Data API v3 is enabled for its Google Cloud project"
        )
    for reason, why in _NOT_ACCESSIBLE_REASONS.items():
        if reason in reasons:
            return InvalidInput(
                f"cannot list this channel or playlist: {why} ({reason}: {message}); "
                "only public channels and playlists can be backfilled"
            )
    if status == 404:
        return InvalidInput(f"{SERVICE}: not found ({message}); check the channel or playlist")
    if status == 403:
        # the key was not blamed above: this resource is off limits, not every request
        return UpstreamRejected(f"{SERVICE} answered HTTP 403: {message}")
    retry_after = parse_retry_after((headers or {}).get("retry-after"))
    return from_status(status, message, retry_after, service=SERVICE)


@dataclass(frozen=True)
class DataApiRetry:
    """How a Data API call is retried, on the CLI and on the Worker alike.

    Retried: outages (5xx, timeouts, network) and rate limits whose wait fits ``cap_s``.
    A server's Retry-After wins over the backoff when longer. Not retried: everything
    permanent, a refused key, and waits longer than ``cap_s`` (the daily quota: hours).
    """

    attempts: int = 4
    base_s: float = 1.0
    cap_s: float = 30.0

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, UpstreamUnavailable):
            return (exc.retry_after or 0.0) <= self.cap_s
        if isinstance(exc, RateLimited):
            return exc.retry_after is not None and exc.retry_after <= self.cap_s
        return False

    def wait_s(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (from 1)."""
        backoff = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        asked = float(exc.retry_after or 0.0) if isinstance(exc, TransientError) else 0.0
        return min(self.cap_s, max(backoff, asked))
