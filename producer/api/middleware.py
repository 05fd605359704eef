"""Pure-ASGI guards around the app: one value per query parameter, a request body limit
and a last-resort 500.

Every query parameter of the API and the dashboard takes one value; a repeated one
(``?channel=a&channel=b``) would silently keep the last, so it is a 400 that names it.

The body limit is checked twice: on ``Content-Length`` before a byte is read, and on the
bytes actually received (a chunked body has no length, and a client may lie). The body is
read up front — it is at most ``max_body_bytes`` — and replayed to the app.

The last resort turns an unexpected exception into a JSON 500 without a traceback; the
traceback goes to the log (structlog), never into the response.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class OneValueParams:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            counts = Counter(name for name, _ in parse_qsl(query, keep_blank_values=True))
            repeated = sorted(name for name, n in counts.items() if n > 1)
            if repeated:
                names = ", ".join(f"'{name[:40]}' ({counts[name]} times)" for name in repeated[:5])
                await send_json(
                    send,
                    400,
                    {
                        "error": "bad_request",
                        "message": f"query parameter given more than once: {names}; "
                        "give each one once",
                    },
                )
                return
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> dict[str, Any]:
        return {
            "error": "body_too_large",
            "message": f"the request body is over {self.max_body_bytes:,} bytes "
            "(TUBEQ_API_MAX_BODY_BYTES): send fewer videos per request",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await send_json(
                send,
                400,
                {"error": "bad_request", "message": "Content-Length is not a whole number"},
            )
            return
        if declared is not None and declared > self.max_body_bytes:
            await send_json(send, 413, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_json(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as usual

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


class LastResort:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                # the app's own handler answered (and logged it); only the re-raise is left
                return
            incident = uuid.uuid4().hex[:12]
            log.exception("api.unhandled_error", incident=incident, path=scope.get("path"))
            await send_json(
                send,
                500,
                {
                    "error": "internal",
                    "message": f"internal error (incident {incident}); the server log "
                    "has the details",
                },
            )
