"""Failures of google-genai mapped to tubeq's errors.

``google.genai.errors.APIError`` (``ClientError`` for 4xx, ``ServerError`` for 5xx) carries the
HTTP status and the API's JSON error. 429 → ``RateLimited`` with the delay the server asked
for: Gemini puts it in a ``google.rpc.RetryInfo`` detail (``"retryDelay": "17s"``); a
``Retry-After`` header is honoured too. 408/5xx → ``UpstreamUnavailable``; any other 4xx →
``UpstreamRejected`` with the API's own message (bad key, unknown model, invalid argument).
A 429 whose ``google.rpc.QuotaFailure`` names a per-day quota (``quotaId`` containing
``PerDay``) will not lift in the suggested seconds: it waits until the quota resets at
midnight Pacific time.
Network errors and timeouts: google-genai 3.x sends through ``httpx2`` (a fork of httpx under
its own namespace, so ``httpx.TransportError`` does not catch it); those are mapped here to
``UpstreamUnavailable``. Plain httpx/requests errors fall through to ``shared.classify.http``.
"""

from __future__ import annotations

import re
from typing import Any

from shared.classify.http import from_status, parse_retry_after, seconds_until_pacific_midnight
from shared.errors import AccessDenied, RateLimited, TubeqError, UpstreamUnavailable

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_DURATION = re.compile(r"^\s*(?P<seconds>\d+(?:\.\d+)?)s\s*$")


def parse_duration(value: object) -> float | None:
    """A protobuf Duration in JSON form ("17s", "0.5s") → seconds."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group("seconds")) if match else None


def _detail_items(details: Any) -> list[dict[str, Any]]:
    """The ``details`` list of an error body ({"error": {"details": [...]}})."""
    if not isinstance(details, dict):
        return []
    error = details.get("error", details)
    items = error.get("details") if isinstance(error, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def retry_delay(details: Any) -> float | None:
    """The RetryInfo delay from an error body ({"error": {"details": [...]}})."""
    for item in _detail_items(details):
        if item.get("@type") == _RETRY_INFO:
            return parse_duration(item.get("retryDelay"))
    return None


def daily_quota_id(details: Any) -> str | None:
    """The ``quotaId`` of a per-day quota violation in a QuotaFailure detail, if any."""
    for item in _detail_items(details):
        if item.get("@type") != _QUOTA_FAILURE:
            continue
        for violation in item.get("violations") or []:
            quota_id = violation.get("quotaId") if isinstance(violation, dict) else None
            if isinstance(quota_id, str) and "PerDay" in quota_id:
                return quota_id
    return None


def _header_retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    return parse_retry_after(value) if isinstance(value, str) else None


def _map_transport(exc: BaseException) -> TubeqError | None:
    try:
        import httpx2
    except ImportError:
        return None
    if isinstance(exc, httpx2.TransportError):
        return UpstreamUnavailable(f"network error talking to Gemini: {type(exc).__name__}: {exc}")
    return None


def map_exception(exc: BaseException) -> TubeqError | None:
    transport = _map_transport(exc)
    if transport is not None:
        return transport
    try:
        from google.genai import errors as genai_errors
    except ImportError:  # the embedded default does not need google-genai
        return None

    if not isinstance(exc, genai_errors.APIError):
        return None
    code = exc.code if isinstance(exc.code, int) else 0
    message = exc.message or exc.status or "no message"
    if code < 400:  # not an HTTP status (e.g. a closed websocket): treat as an outage
        return UpstreamUnavailable(f"Gemini API error {exc.code}: {message}")
    delay = retry_delay(exc.details)
    if delay is None:
        delay = _header_retry_after(exc)
    daily = daily_quota_id(exc.details) if code == 429 else None
    if daily is not None:
        # RetryInfo then says "retry in 30s", which would only walk into the same 429
        wait = max(delay or 0.0, seconds_until_pacific_midnight())
        return RateLimited(
            f"Gemini API daily quota exhausted ({daily}): it resets at midnight Pacific time, "
            f"in about {wait / 3600:.1f} h; raise the project's quota tier or wait",
            retry_after=wait,
        )
    if code == 400 and ("API_KEY_INVALID" in str(exc.details) or "API key not valid" in message):
        # Gemini answers a bad key with 400, not 401: still no call can succeed
        return AccessDenied(f"Gemini API refused the key: {message}; check TUBEQ_GEMINI_API_KEY")
    return from_status(code, message, delay, service="Gemini API")
