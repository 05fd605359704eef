"""Generic HTTP and network failures (httpx, requests, sockets), by status code."""

from __future__ import annotations

import email.utils
import socket
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import (
    AccessDenied,
    RateLimited,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)

try:
    _PACIFIC: tzinfo = ZoneInfo("America/Los_Angeles")
except ZoneInfoNotFoundError:  # no tz database (slim images): standard time is close enough
    _PACIFIC = timezone(timedelta(hours=-8))


def seconds_until_pacific_midnight(now: datetime | None = None) -> float:
    """Google's daily quotas (Data API units, Gemini requests per day) reset at midnight
    Pacific time."""
    local = (now or datetime.now(UTC)).astimezone(_PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def from_status(
    status: int, message: str, retry_after: float | None = None, *, service: str = "upstream"
) -> TubeqError:
    """The one rule for HTTP statuses: 429 → rate limited, 408/5xx → transient, 401/403 →
    access denied (systemic: the consumer stops, the backlog waits), other 4xx → permanent."""
    text = f"{service} answered HTTP {status}: {message}".strip()
    if status in (401, 403):
        return AccessDenied(text)
    if status == 429:
        return RateLimited(text, retry_after=retry_after)
    if status == 408 or status >= 500:
        return UpstreamUnavailable(text, retry_after=retry_after)
    return UpstreamRejected(text)


def map_exception(exc: BaseException) -> TubeqError | None:
    import httpx
    import requests

    if isinstance(exc, httpx.HTTPStatusError):
        resp = exc.response
        return from_status(
            resp.status_code,
            resp.text[:500],
            parse_retry_after(resp.headers.get("retry-after")),
            service=resp.request.url.host,
        )
    if isinstance(exc, httpx.TransportError):
        return UpstreamUnavailable(f"network error: {type(exc).__name__}: {exc}")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        resp2 = exc.response
        return from_status(
            resp2.status_code,
            resp2.text[:500],
            parse_retry_after(resp2.headers.get("retry-after")),
        )
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return UpstreamUnavailable(f"network error: {type(exc).__name__}: {exc}")
    if isinstance(exc, (TimeoutError, ConnectionError, socket.timeout)):
        return UpstreamUnavailable(f"network error: {type(exc).__name__}: {exc}")
    return None
