"""The Worker as the one edge endpoint: what it does not serve itself goes to the backend.

The Worker enqueues (``POST /v1/jobs``, the cron) and answers ``/healthz``; reads (progress,
videos and their artifact links, dead letters, redrive) need the result store and the
Cloudflare API token, which live with ``tubeq serve`` next to the consumers. With
``TUBEQ_BACKEND_URL`` set, the Worker's app hands every other ``/v1`` request to this
forwarder *after* its own key check (``producer.api.app``), so readers need one URL and an
unauthenticated API request never leaves the edge. Two exceptions go to the backend as they
are, because a browser follows them with the dashboard's login cookie, which only the
backend can check: the dashboard (every path outside ``/v1``: pages, login, assets) and the
stable artifact links ``GET /v1/videos/{id}/artifacts/{kind}`` that the analyst views hold;
the backend checks their reader itself. Without ``TUBEQ_BACKEND_URL``, those endpoints
answer 501 and point to ``tubeq serve``.

What is forwarded: method, path (as received, still percent-encoded), query, body (already
bounded by ``TUBEQ_API_MAX_BODY_BYTES`` by the app's body limit) and the end-to-end headers,
``Authorization`` included so the backend checks the key too. Hop-by-hop headers (RFC 9110
§7.6.1, and any the ``Connection`` header names) are dropped both ways, ``Host`` is the
backend's, and ``X-Forwarded-*`` say where the request came in.

The answer is streamed back as it arrives (a long listing is not held in memory). A backend
that refuses or drops the connection → 502, one that does not answer within
``TUBEQ_BACKEND_TIMEOUT_S`` → 504, both JSON like every other error of the API.

HTTP goes through ``httpx.AsyncClient``, which Cloudflare's Python runtime patches onto the
runtime's ``fetch`` (a Worker has no sockets for anything else). That patch bypasses httpx's
transport and with it httpx's timeouts, so the wait for the answer's head and for each body
chunk is also bounded by ``asyncio.wait_for``. One client per request: nothing pooled is
carried from one request (or, in tests, one event loop) to the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

log = structlog.get_logger(__name__)

#: RFC 9110 §7.6.1 connection-specific fields, plus the ones httpx or the platform sets
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: not hop-by-hop, but recomputed for the new message
RECOMPUTED = frozenset({"host", "content-length"})

ClientFactory = Callable[[float], httpx.AsyncClient]


def default_client(timeout_s: float) -> httpx.AsyncClient:
    # no redirects followed: a 3xx is the backend's answer, the caller follows it
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)


def end_to_end(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs minus hop-by-hop headers and those the ``Connection`` header names."""
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    drop = HOP_BY_HOP | RECOMPUTED | named
    return [(name, value) for name, value in pairs if name.lower() not in drop]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class BackendForwarder:
    """``await forwarder(request)`` → the backend's answer, or a JSON 502/504."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        *,
        client_factory: ClientFactory = default_client,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._client_factory = client_factory

    def target(self, request: Request) -> str:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string") or b""
        url = self._base + raw_path.decode("latin-1")
        return url + "?" + query.decode("latin-1") if query else url

    def _headers(self, request: Request) -> list[tuple[str, str]]:
        pairs = end_to_end(list(request.headers.items()))
        pairs.append(("x-forwarded-proto", request.url.scheme))
        if request.url.hostname:
            pairs.append(("x-forwarded-host", request.url.hostname))
        return pairs

    async def __call__(self, request: Request) -> Response:
        body = await request.body()  # bounded by the app's body limit
        client = self._client_factory(self._timeout_s)
        outgoing = client.build_request(
            request.method, self.target(request), headers=self._headers(request), content=body
        )
        try:
            upstream = await asyncio.wait_for(
                client.send(outgoing, stream=True), timeout=self._timeout_s
            )
        except (TimeoutError, httpx.TimeoutException):
            await client.aclose()
            log.warning("forward.timeout", method=request.method, path=request.url.path)
            return _error(
                504,
                "backend_timeout",
                f"the backend (TUBEQ_BACKEND_URL) did not answer within {self._timeout_s:g} s "
                "(TUBEQ_BACKEND_TIMEOUT_S); is `tubeq serve` overloaded?",
            )
        except httpx.TransportError as exc:
            await client.aclose()
            log.warning("forward.unreachable", method=request.method, error=type(exc).__name__)
            return _error(
                502,
                "backend_unavailable",
                f"the backend (TUBEQ_BACKEND_URL) is unreachable ({type(exc).__name__}): "
                "is `tubeq serve` running there?",
            )
        log.info("forward.done", method=request.method, status=upstream.status_code)
        response = StreamingResponse(
            self._relay(client, upstream), status_code=upstream.status_code
        )
        response.raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in end_to_end(upstream.headers.multi_items())
        ]
        return response

    async def _relay(
        self, client: httpx.AsyncClient, upstream: httpx.Response
    ) -> AsyncIterator[bytes]:
        # raw: the bytes as the backend encoded them, with its Content-Encoding kept
        chunks = upstream.aiter_raw()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), timeout=self._timeout_s)
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()
