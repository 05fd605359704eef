"""A local stand-in for the Gemini Batch API on 127.0.0.1, driven through the real
google-genai client (``genai.Client(http_options=HttpOptions(base_url=stub.base_url))``).

Wire shapes: google-genai 3.6.1 in Gemini Developer API mode (``google/genai/batches.py``,
``files.py``, ``_api_client.py``: its ``*_to_mldev`` / ``*_from_mldev`` converters) and the
Batch API reference (https://ai.google.dev/api/batch-mode, the batch-mode guide):

- ``POST /v1beta/models/{model}:batchGenerateContent`` with ``{"batch": {"displayName",
  "inputConfig": {"requests": {"requests": [{"request": GenerateContentRequest,
  "metadata": {…}}]}} | {"fileName": "files/…"}}}`` → an Operation-like batch:
  ``{"name": "batches/…", "metadata": {"@type": "…GenerateContentBatch", "displayName",
  "model", "state": "BATCH_STATE_PENDING", "createTime", "updateTime", "batchStats"}}``;
- ``GET /v1beta/batches/{id}`` → the same, its state moving PENDING → RUNNING → a terminal
  state (SUCCEEDED, FAILED, CANCELLED, EXPIRED) with ``done`` and, when it succeeded,
  ``metadata.output``: ``{"inlinedResponses": {"inlinedResponses": [{"response" | "error",
  "metadata"}]}}`` for inline requests, ``{"responsesFile": "files/…"}`` for a file;
- ``GET /v1beta/batches`` → ``{"operations": [...], "nextPageToken"}``; ``POST
  /v1beta/batches/{id}:cancel`` → ``{}``; ``GET /v1beta/models/{model}`` (``models.get``,
  the consumer's pre-flight check) → a ``Model``;
- the Files API's resumable upload: ``POST /upload/v1beta/files`` (``X-Goog-Upload-Command:
  start``) answers ``X-Goog-Upload-URL``; the bytes go there with ``upload, finalize`` and
  the answer is ``{"file": File}`` with ``X-Goog-Upload-Status: final``; a responses file is
  read with ``GET /v1beta/files/{id}:download?alt=media``. A JSONL request line is
  ``{"key", "request"}``; a responses line ``{"key", "response"}`` or ``{"key", "error"}``.

A batch is processed once, when it reaches its terminal state (after ``polls_to_finish``
gets): each request of a succeeding batch is answered by ``responder`` and billed once
(``billed``: key, usage); a key in ``fail_keys`` gets a per-request error instead (not billed).
``outcomes`` (a queue of terminal states for the next batches) makes a batch expire or fail;
``script`` answers the next calls with an error instead (a 429, a 503), and
``reverse_replies`` writes a batch's replies last request first.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.gemini_stub import analysis_dict, model_resource, unknown_field_error
from tests.support.loopback import LoopbackServer

_CREATE = re.compile(r"^/(?:v1|v1beta)/models/(?P<model>[^/:]+):batchGenerateContent$")
_BATCH = re.compile(r"^/(?:v1|v1beta)/batches/(?P<id>[^/:]+)$")
_CANCEL = re.compile(r"^/(?:v1|v1beta)/batches/(?P<id>[^/:]+):cancel$")
_LIST = re.compile(r"^/(?:v1|v1beta)/batches$")
_MODEL = re.compile(r"^/(?:v1|v1beta)/models/(?P<model>[^/:]+)$")
_UPLOAD_START = re.compile(r"^/upload/(?:v1|v1beta)/files$")
_UPLOAD = re.compile(r"^/upload-session/(?P<id>[a-z0-9]+)$")
_DOWNLOAD = re.compile(r"^/(?:download/)?(?:v1|v1beta)/files/(?P<id>[^/:]+):download$")

#: a request's GenerateContentResponse JSON (with its usageMetadata), from its key and request
Responder = Callable[[str, dict[str, Any]], dict[str, Any]]
#: (status, body) or (status, body, headers)
_Answer = tuple[int, dict[str, Any] | bytes] | tuple[int, dict[str, Any] | bytes, dict[str, str]]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_responder(key: str, request: dict[str, Any]) -> dict[str, Any]:
    """A valid analysis; prompt tokens from the request's size, so videos cost differently."""
    text = "".join(
        p.get("text", "") for c in request.get("contents", []) for p in c.get("parts", [])
    )
    prompt_tokens = 500 + len(text) // 4
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": json.dumps(analysis_dict())}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": 300,
            "totalTokenCount": prompt_tokens + 300,
        },
        "modelVersion": "stub",
        "responseId": f"batch-{key}",
    }


@dataclass
class StubBatch:
    id: str
    display_name: str
    model: str
    #: (key, request) in input order
    requests: list[tuple[str, dict[str, Any]]]
    inline: bool
    #: the request's metadata dicts (inline only), echoed with each response
    metadata: list[dict[str, Any]]
    state: str = "BATCH_STATE_PENDING"
    gets: int = 0
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    ended: str | None = None
    output: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)


class GeminiBatchStub:
    def __init__(self, api_key: str = "stub-key") -> None:
        self.api_key = api_key
        self.batches: dict[str, StubBatch] = {}
        self.files: dict[str, bytes] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        #: every batchGenerateContent call, by display name (a second one is a double submit)
        self.creates: list[str] = []
        #: every batches/{id}:cancel call, by batch name (``batches/…``)
        self.cancels: list[str] = []
        #: every billed request: (batch display name, key, usageMetadata)
        self.billed: list[tuple[str, str, dict[str, int]]] = []
        self.responder: Responder = default_responder
        self.fail_keys: set[str] = set()
        self.outcomes: deque[str] = deque()
        self.polls_to_finish = 2
        #: answers to the next API calls (a 429, a 503…), before the batch API sees them
        self.script: deque[tuple[int, dict[str, Any]]] = deque()
        #: write the replies last request first: the API does not promise the order of a
        #: responses file, and a reply is matched to its video by key, never by place
        self.reverse_replies = False
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler_class())

    @property
    def base_url(self) -> str:
        return self._http.origin

    def start(self) -> GeminiBatchStub:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> GeminiBatchStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def billed_cost(self, input_per_m: float, output_per_m: float) -> float:
        """What the billed requests cost at these prices (per million tokens)."""
        with self._lock:
            total = sum(
                u["promptTokenCount"] * input_per_m + u["candidatesTokenCount"] * output_per_m
                for _, _, u in self.billed
            )
        return total / 1_000_000

    # ---- the API --------------------------------------------------------------------------

    def _create(self, model: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        batch = body.get("batch") or {}
        config = batch.get("inputConfig") or {}
        requests: list[tuple[str, dict[str, Any]]] = []
        metadata: list[dict[str, Any]] = []
        inline = "requests" in config
        if inline:
            for n, item in enumerate(config["requests"].get("requests", [])):
                meta = item.get("metadata") or {}
                metadata.append(meta)
                requests.append((str(meta.get("key", n)), item.get("request") or {}))
        elif "fileName" in config:
            file_id = config["fileName"].removeprefix("files/")
            if file_id not in self.files:
                return 400, _error(400, f"no file {config['fileName']}", "INVALID_ARGUMENT")
            for line in self.files[file_id].decode("utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    requests.append((str(entry["key"]), entry["request"]))
        else:
            return 400, _error(400, "inputConfig needs requests or fileName", "INVALID_ARGUMENT")
        for _, request in requests:
            # a request-shape regression fails here, as the real API refuses unknown fields
            refused = unknown_field_error(request)
            if refused is not None:
                assert isinstance(refused.body, dict)
                return refused.status, refused.body
        if not batch.get("displayName"):
            return 400, _error(400, "batch.displayName is required", "INVALID_ARGUMENT")
        with self._lock:
            sb = StubBatch(
                id=uuid.uuid4().hex[:16],
                display_name=batch["displayName"],
                model=f"models/{model}",
                requests=requests,
                inline=inline,
                metadata=metadata,
            )
            self.batches[sb.id] = sb
            self.creates.append(sb.display_name)
            return 200, self._resource(sb)

    def _get(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            sb = self.batches.get(batch_id)
            if sb is None:
                return 404, _error(404, f"batches/{batch_id} not found", "NOT_FOUND")
            sb.gets += 1
            if sb.state == "BATCH_STATE_PENDING":
                sb.state = "BATCH_STATE_RUNNING"
            elif sb.state == "BATCH_STATE_RUNNING" and sb.gets >= self.polls_to_finish:
                outcome = self.outcomes.popleft() if self.outcomes else "SUCCEEDED"
                self._finish(sb, outcome)
            return 200, self._resource(sb)

    def _finish(self, sb: StubBatch, outcome: str) -> None:
        """The batch's one run: each request answered and billed once, or none (expired)."""
        sb.state = f"BATCH_STATE_{outcome}"
        sb.ended = sb.updated = _now()
        if outcome != "SUCCEEDED":
            return
        answers: list[dict[str, Any]] = []
        for key, request in sb.requests:
            if key in self.fail_keys:
                answers.append(
                    {"key": key, "error": {"code": 13, "message": "stub: internal error"}}
                )
                continue
            response = self.responder(key, request)
            self.billed.append((sb.display_name, key, response["usageMetadata"]))
            answers.append({"key": key, "response": response})
        if self.reverse_replies:
            answers.reverse()
            sb.metadata = sb.metadata[::-1]
        ok = sum(1 for a in answers if "response" in a)
        sb.counts = {"requestCount": len(answers), "successfulRequestCount": ok}
        sb.counts["failedRequestCount"] = len(answers) - ok
        if sb.inline:
            inlined = []
            for answer, meta in zip(answers, sb.metadata, strict=True):
                entry = {k: v for k, v in answer.items() if k != "key"}
                inlined.append(entry | {"metadata": meta})
            sb.output = {"inlinedResponses": {"inlinedResponses": inlined}}
        else:
            file_id = f"out{sb.id}"
            self.files[file_id] = "".join(json.dumps(a) + "\n" for a in answers).encode()
            sb.output = {"responsesFile": f"files/{file_id}"}

    def _cancel(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.cancels.append(f"batches/{batch_id}")
            sb = self.batches.get(batch_id)
            if sb is None:
                return 404, _error(404, f"batches/{batch_id} not found", "NOT_FOUND")
            if sb.state in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"):
                sb.state = "BATCH_STATE_CANCELLED"
                sb.ended = sb.updated = _now()
            return 200, {}

    def _list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        size = int((query.get("pageSize") or ["50"])[0])
        start = int((query.get("pageToken") or ["0"])[0])
        with self._lock:
            every = list(self.batches.values())[::-1]  # newest first
            page = [self._resource(sb) for sb in every[start : start + size]]
        body: dict[str, Any] = {"operations": page}
        if start + size < len(every):
            body["nextPageToken"] = str(start + size)
        return 200, body

    def _resource(self, sb: StubBatch) -> dict[str, Any]:
        name = f"batches/{sb.id}"
        metadata: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
            "name": name,
            "displayName": sb.display_name,
            "model": sb.model,
            "state": sb.state,
            "createTime": sb.created,
            "updateTime": sb.updated,
            "batchStats": {k: str(v) for k, v in sb.counts.items()}
            or {"requestCount": str(len(sb.requests))},
        }
        if sb.ended:
            metadata["endTime"] = sb.ended
        if sb.output is not None:
            metadata["output"] = sb.output
        return {"name": name, "metadata": metadata, "done": sb.ended is not None}

    # ---- HTTP -----------------------------------------------------------------------------

    def _route_get(self, path: str, query: dict[str, list[str]]) -> _Answer:
        if match := _BATCH.match(path):
            return self._get(match["id"])
        if _LIST.match(path):
            return self._list(query)
        if match := _MODEL.match(path):  # models.get: a consumer's pre-flight check
            return 200, model_resource(match["model"])
        if match := _DOWNLOAD.match(path):
            data = self.files.get(match["id"])
            if data is None:
                return 404, _error(404, "no such file", "NOT_FOUND")
            return 200, data
        return 404, _error(404, f"stub: unknown path {path}", "NOT_FOUND")

    def _route_post(self, path: str, body: dict[str, Any]) -> _Answer:
        if match := _CREATE.match(path):
            return self._create(match["model"], body)
        if match := _CANCEL.match(path):
            return self._cancel(match["id"])
        if _UPLOAD_START.match(path):
            session = uuid.uuid4().hex
            # proto-JSON takes snake_case names too (google-genai sends size_bytes)
            file = {_camel(k): v for k, v in (body.get("file") or {}).items()}
            file["name"] = file.get("name") or f"files/{uuid.uuid4().hex[:12]}"
            with self._lock:
                self._uploads[session] = file
            return 200, {}, {"X-Goog-Upload-URL": f"{self.base_url}/upload-session/{session}"}
        return 404, _error(404, f"stub: unknown path {path}", "NOT_FOUND")

    def _upload(self, session: str, raw: bytes) -> _Answer:
        with self._lock:
            file = self._uploads.pop(session, None)
            if file is None:
                return 404, _error(404, "no such upload", "NOT_FOUND")
            self.files[file["name"].removeprefix("files/")] = raw
        file |= {"sizeBytes": str(len(raw)), "state": "ACTIVE"}
        return 200, {"file": file}, {"X-Goog-Upload-Status": "final"}

    def _scripted(self) -> _Answer | None:
        with self._lock:
            return self.script.popleft() if self.script else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, *answer: Any) -> None:
                status, body, *rest = answer
                headers: dict[str, str] = rest[0] if rest else {}
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("x-goog-api-key") == stub.api_key:
                    return True
                self._send(400, _error(400, "API key not valid.", "INVALID_ARGUMENT"))
                return False

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if self._authorised():
                    self._send(
                        *(stub._scripted() or stub._route_get(url.path, parse_qs(url.query)))
                    )

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if match := _UPLOAD.match(url.path):
                    # the upload URL is the credential here, as at Google
                    self._send(*stub._upload(match["id"], raw))
                elif self._authorised():
                    answer = stub._scripted() or stub._route_post(
                        url.path, json.loads(raw or b"{}")
                    )
                    self._send(*answer)

        return Handler


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _error(status: int, message: str, grpc_status: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": grpc_status}}
