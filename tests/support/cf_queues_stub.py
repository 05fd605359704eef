"""A local stand-in for the Cloudflare Queues REST API (publish, HTTP pull, ack, metrics).

Implements, on 127.0.0.1, the documented shapes under ``/client/v4/accounts/{acct}/queues/{id}``:
``POST messages`` (``{body, content_type, delay_seconds}``), ``POST messages/batch``
(``{messages: [...], delay_seconds}``), ``POST messages/pull`` (``{batch_size,
visibility_timeout_ms}`` → ``result.messages[]`` with ``id, body, attempts, lease_id,
timestamp_ms, metadata`` and ``result.message_backlog_count``), ``POST messages/ack``
(``{acks: [{lease_id}], retries: [{lease_id, delay_seconds}]}``) and ``GET metrics``;
every reply in Cloudflare's envelope (``success``, ``errors[]``, ``messages[]``,
``result``).

What it checks (Cloudflare semantics as documented): the ``Authorization: Bearer`` token;
leases with a visibility timeout; every delivery counts an attempt; a retry or an expired
lease past the consumer's ``max_retries`` moves the message to the configured dead-letter
queue (deleted without one); stale lease ids are ignored; per-message and per-batch delays
(≤ 12 h); json bodies come back base64-encoded; ≤ 100 messages and ≤ 256,000 bytes per
batch, ≤ 128,000 bytes per message (HTTP 413, worded like the Workers binding's error).

What only production can check: the exact error codes, statuses and wording Cloudflare
returns (the ones here are modelled on the public docs and the binding's messages), how it
counts message bytes, whether a dead-lettered message keeps its id and timestamp, its
attempt counter in the DLQ, the precision of ``backlog_count`` (best-effort there, exact
here), and rate limits. The clock is manual: time passes only through ``advance``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from tests.support.loopback import LoopbackServer

MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 256_000
MAX_MESSAGE_BYTES = 128_000
MAX_DELAY_S = 43_200
MAX_VISIBILITY_MS = 43_200_000

_ROUTE = re.compile(
    r"^/client/v4/accounts/(?P<acct>[^/]+)/queues/(?P<queue>[^/]+)/"
    r"(?P<op>messages|messages/batch|messages/pull|messages/ack|metrics)$"
)


class StubError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Message:
    id: str
    body: Any
    content_type: str
    timestamp_ms: int
    size: int
    visible_at: float
    attempts: int = 0
    lease_id: str | None = None
    lease_expires_at: float = 0.0


@dataclass
class StubQueue:
    queue_id: str
    max_retries: int = 3
    dead_letter_queue: str | None = None
    messages: dict[str, Message] = field(default_factory=dict)


@dataclass
class Fault:
    """The next matching request(s) fail: ``status`` (None = only slow), ``retry_after``,
    ``delay_s`` before answering, an envelope error; ``status`` 200 means success: false."""

    status: int | None = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    message: str = "Internal Server Error"
    code: int = 10001
    path_contains: str = ""
    times: int = 1


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class CfQueuesStub:
    def __init__(self, *, account_id: str = "0123456789abcdef0123456789abcdef") -> None:
        self.account_id = account_id
        self.token = "stub-" + secrets.token_urlsafe(16)
        self.queues: dict[str, StubQueue] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        #: send json bodies back as plain JSON instead of base64 (an older API shape)
        self.plain_json_bodies = False
        self._now = time.time()
        self._lock = threading.Lock()
        self._http: LoopbackServer | None = None
        #: the account API (queues, their consumers, …) over the same queues, on the same
        #: address: what `tubeq doctor` and the consumer's pre-flight read
        from tests.support.cf_api_stub import CfApiStub  # it reuses this module's handler

        self.account = CfApiStub(account_id=account_id)
        self.account.token = self.token

    # ---- control ------------------------------------------------------------------------
    def add_queue(
        self, queue_id: str, *, max_retries: int = 3, dead_letter_queue: str | None = None
    ) -> None:
        with self._lock:
            self.queues[queue_id] = StubQueue(queue_id, max_retries, dead_letter_queue)
        # the queue's id doubles as its name here; an HTTP pull consumer as setup makes it
        self.account.add_queue(queue_id, queue_id=queue_id)
        self.account.add_consumer(
            queue_id,
            type="http_pull",
            dead_letter_queue=dead_letter_queue or "",
            settings={"max_retries": max_retries, "visibility_timeout_ms": 30_000},
        )

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def count(self, queue_id: str) -> int:
        with self._lock:
            self._expire(self.queues[queue_id])
            return len(self.queues[queue_id].messages)

    @property
    def url(self) -> str:
        assert self._http is not None, "start() the stub first"
        return self._http.origin + "/client/v4"

    def start(self) -> CfQueuesStub:
        self._http = LoopbackServer(_handler(self)).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> CfQueuesStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the API --------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {}, _fail(10002, "request body is not valid JSON")
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
            fault = self._take_fault(path)
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)  # a slow reply, outside the lock
        if fault is not None and fault.status is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, extra, _fail(fault.code, fault.message)
        auth = headers.get("authorization")
        if not auth:
            return 401, {}, _fail(10000, "Authentication error")
        if auth != f"Bearer {self.token}":
            return 403, {}, _fail(10000, "Authentication error")
        match = _ROUTE.match(path)
        if match is None:
            with self._lock:
                self.requests.pop()  # recorded by the account API instead
            return self.account.handle(method, path, headers, raw)
        if match["acct"] != self.account_id:
            return 404, {}, _fail(7003, "Could not route to " + path)
        try:
            with self._lock:
                queue = self.queues.get(match["queue"])
                if queue is None:
                    raise StubError(404, 11000, f"queue {match['queue']} not found")
                self._expire(queue)
                result = self._dispatch(method, match["op"], queue, body)
        except StubError as err:
            return err.status, {}, _fail(err.code, err.message)
        return 200, {}, {"success": True, "errors": [], "messages": [], "result": result}

    def _dispatch(self, method: str, op: str, queue: StubQueue, body: Any) -> Any:
        if op == "metrics" and method == "GET":
            return self._metrics(queue)
        if method != "POST" or not isinstance(body, dict):
            raise StubError(400, 10002, f"{method} {op} needs a JSON object body")
        if op == "messages":
            self._publish(queue, [body], 0)
            return {"metadata": {"metrics": self._metrics(queue)}}
        if op == "messages/batch":
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise StubError(400, 10002, "messages must be a non-empty list")
            self._publish(queue, messages, body.get("delay_seconds", 0))
            return {"metadata": {"metrics": self._metrics(queue)}}
        if op == "messages/pull":
            return self._pull(queue, body)
        return self._ack(queue, body)

    def _publish(self, queue: StubQueue, entries: list[Any], batch_delay: Any) -> None:
        if len(entries) > MAX_BATCH_MESSAGES:
            raise StubError(400, 10206, f"batch of {len(entries)} exceeds 100 messages")
        ready: list[Message] = []
        for entry in entries:
            if not isinstance(entry, dict) or "body" not in entry:
                raise StubError(400, 10002, "each message needs a body")
            ctype = entry.get("content_type", "json")
            if ctype not in ("json", "text") or (
                ctype == "text" and not isinstance(entry["body"], str)
            ):
                raise StubError(400, 10002, f"unsupported content_type {ctype!r}")
            delay = entry.get("delay_seconds", batch_delay) or 0
            if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_S:
                raise StubError(400, 10002, f"delay_seconds must be 0..{MAX_DELAY_S}")
            data = (
                entry["body"]
                if ctype == "text"
                else json.dumps(entry["body"], separators=(",", ":"))
            )
            size = len(data.encode())
            if size > MAX_MESSAGE_BYTES:
                raise StubError(
                    413, 10204, f"message size of {size} bytes exceeds limit of 128000 bytes"
                )
            ready.append(
                Message(
                    secrets.token_hex(16),
                    entry["body"],
                    ctype,
                    int(self._now * 1000),
                    size,
                    self._now + delay,
                )
            )
        total = sum(m.size for m in ready)
        if total > MAX_BATCH_BYTES:
            raise StubError(
                413, 10205, f"batch size of {total} bytes exceeds limit of 256000 bytes"
            )
        for message in ready:  # all or nothing, like one API call
            queue.messages[message.id] = message

    def _pull(self, queue: StubQueue, body: dict[str, Any]) -> dict[str, Any]:
        batch_size = body.get("batch_size", 5)
        vt_ms = body.get("visibility_timeout_ms", 30_000)
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_MESSAGES:
            raise StubError(400, 10002, "batch_size must be 1..100")
        if not isinstance(vt_ms, int | float) or not 0 < vt_ms <= MAX_VISIBILITY_MS:
            raise StubError(400, 10002, f"visibility_timeout_ms must be 1..{MAX_VISIBILITY_MS}")
        ready = sorted(
            (
                m
                for m in queue.messages.values()
                if m.lease_id is None and m.visible_at <= self._now
            ),
            key=lambda m: (m.visible_at, m.timestamp_ms),
        )[:batch_size]
        out = []
        for m in ready:
            m.attempts += 1
            m.lease_id = secrets.token_urlsafe(24)
            m.lease_expires_at = self._now + vt_ms / 1000
            out.append(
                {
                    "id": m.id,
                    "body": self._encode(m),
                    "attempts": m.attempts,
                    "lease_id": m.lease_id,
                    "timestamp_ms": m.timestamp_ms,
                    "metadata": {
                        "CF-Content-Type": m.content_type,
                        "CF-sourceMessageSource": "api",
                    },
                }
            )
        metrics = self._metrics(queue)
        return {
            "message_backlog_count": metrics["backlog_count"],
            "messages": out,
            "metadata": {"metrics": metrics},
        }

    def _ack(self, queue: StubQueue, body: dict[str, Any]) -> dict[str, Any]:
        by_lease = {m.lease_id: m for m in queue.messages.values() if m.lease_id}
        acked = retried = 0
        for item in body.get("acks") or []:
            message = by_lease.pop(str(item.get("lease_id")), None)
            if message is not None:
                del queue.messages[message.id]
                acked += 1
        for item in body.get("retries") or []:
            message = by_lease.pop(str(item.get("lease_id")), None)
            delay = item.get("delay_seconds", 0) or 0
            if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_S:
                raise StubError(400, 10002, f"delay_seconds must be 0..{MAX_DELAY_S}")
            if message is not None:
                self._release(queue, message, self._now + delay)
                retried += 1
        return {"ackCount": acked, "retryCount": retried, "warnings": []}

    # ---- internals --------------------------------------------------------------------------
    def _release(self, queue: StubQueue, message: Message, visible_at: float) -> None:
        message.lease_id = None
        if message.attempts <= queue.max_retries:
            message.visible_at = visible_at
            return
        del queue.messages[message.id]
        dlq = self.queues.get(queue.dead_letter_queue or "")
        if dlq is not None:  # without a DLQ, Cloudflare deletes the message
            dlq.messages[message.id] = Message(
                message.id,
                message.body,
                message.content_type,
                message.timestamp_ms,
                message.size,
                self._now,
            )

    def _expire(self, queue: StubQueue) -> None:
        for message in list(queue.messages.values()):
            if message.lease_id and message.lease_expires_at <= self._now:
                self._release(queue, message, message.lease_expires_at)

    def _encode(self, message: Message) -> Any:
        if message.content_type == "text":
            return message.body
        text = json.dumps(message.body)
        return text if self.plain_json_bodies else base64.b64encode(text.encode()).decode()

    def _metrics(self, queue: StubQueue) -> dict[str, Any]:
        msgs = list(queue.messages.values())
        return {
            "backlog_count": len(msgs),
            "backlog_bytes": sum(m.size for m in msgs),
            "oldest_message_timestamp_ms": min((m.timestamp_ms for m in msgs), default=0),
        }

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path_contains in path:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None


def _fail(code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": None,
    }


class _Handles(Protocol):
    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]: ...


def _handler(stub: _Handles) -> type[BaseHTTPRequestHandler]:
    """The HTTP front of a stub (this one, ``cf_api_stub``): it hands each request over."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle + delayed ACK
            # add ~40 ms to every call
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = stub.handle(self.command, self.path, headers, raw)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
