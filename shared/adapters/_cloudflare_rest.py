"""Calls to Cloudflare's API v4 for the queue adapter (``shared.adapters.cloudflare_queue``):
bearer token, per-call timeouts, Cloudflare's JSON envelope, and a small replay loop that
replays only what is safe (``replay``: whether a call that may have reached the server can
be made again; one that surely did not — a refused connection, a 429 — always can).

Why plain httpx rather than the official ``cloudflare`` package: the queue adapter needs five
POSTs and one GET, and it needs exact control over three things the SDK hides — which calls
are replayed after a failure (the SDK retries everything twice by default, including
``pull``, which strands leases), the raw Cloudflare envelope (``errors[]``,
``message_backlog_count``), and per-call timeouts. httpx is already a dependency; the SDK
would add a large generated client for no gain.

A refused token is ``AccessDenied`` (systemic: the consumer stops); other statuses go
through ``shared.classify.http``. The token is never put in a message or a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from shared.classify import classify
from shared.classify.http import from_status, parse_retry_after
from shared.errors import (
    AccessDenied,
    TransientError,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)

SERVICE = "Cloudflare Queues"


class _CallFailedError(Exception):
    """Carries a classified error through the tenacity loop, with what is safe to replay."""

    def __init__(self, error: TubeqError, *, not_processed: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        #: the request surely never reached the queue (connect failure, 429): always replayable
        self.not_processed = not_processed


class CloudflareRest:
    """One account's API: ``call`` returns the envelope's ``result`` or raises a TubeqError."""

    def __init__(
        self,
        *,
        account_id: str,
        api_token: SecretStr,
        api_url: str,
        timeout_s: float,
        attempts: int,
        backoff_s: float,
        max_wait_s: float,
    ) -> None:
        self._account_id = account_id
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._max_wait_s = max_wait_s
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_token.get_secret_value()}"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, body: Any, *, replay: bool) -> Any:
        """One API call with a small replay loop; returns the envelope's ``result``."""
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(self._replayable(replay)),
            reraise=True,
        )
        try:
            return retrying(self._call_once, method, path, body)
        except _CallFailedError as failed:
            raise failed.error from failed.__cause__

    def _replayable(self, ambiguous_ok: bool) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            if not isinstance(exc, _CallFailedError) or not isinstance(exc.error, TransientError):
                return False
            wait = exc.error.retry_after
            if wait is not None and wait > self._max_wait_s:
                return False  # the server wants a long pause: let the caller's backoff take it
            return exc.not_processed or ambiguous_ok

        return check

    def _wait(self, state: RetryCallState) -> float:
        backoff: float = self._backoff_s * 2 ** (state.attempt_number - 1)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _CallFailedError) and isinstance(exc.error, TransientError):
            return max(backoff, exc.error.retry_after or 0.0)
        return backoff

    def _call_once(self, method: str, path: str, body: Any) -> Any:
        try:
            resp = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            surely_unsent = isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            raise _CallFailedError(classify(exc), not_processed=surely_unsent) from exc
        envelope = _envelope(resp)
        reason = _cf_errors(envelope) or resp.reason_phrase
        if resp.status_code in (401, 403):
            # systemic: every call will fail the same way until the token is fixed, so the
            # consumer stops (exit 4) instead of failing the backlog one message at a time
            raise _CallFailedError(
                AccessDenied(
                    f"{SERVICE} refused the API token (HTTP {resp.status_code}: {reason}); "
                    "check TUBEQ_CF_API_TOKEN: it needs Queues Edit on account "
                    f"{self._account_id}"
                )
            )
        if resp.status_code >= 400:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            error = from_status(
                resp.status_code, f"{reason} ({method} {path})", retry_after, service=SERVICE
            )
            raise _CallFailedError(error, not_processed=resp.status_code == 429)
        if envelope is None:
            raise _CallFailedError(
                UpstreamUnavailable(f"{SERVICE} sent a reply that is not its JSON envelope")
            )
        if envelope.get("success") is not True:
            raise _CallFailedError(UpstreamRejected(f"{SERVICE} refused {method} {path}: {reason}"))
        return envelope.get("result")


def _envelope(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _cf_errors(envelope: Mapping[str, Any] | None) -> str:
    errors = envelope.get("errors") if envelope else None
    if not isinstance(errors, list):
        return ""
    parts = [
        f"[{e.get('code')}] {e.get('message')}" if isinstance(e, Mapping) else str(e)
        for e in errors
    ]
    return "; ".join(parts)[:500]
