"""A local stand-in for the Gemini API (generativelanguage.googleapis.com) on 127.0.0.1.

It speaks the wire format google-genai uses with a custom ``base_url``:
``POST /{v1|v1beta}/models/{model}:generateContent`` with the key in ``x-goog-api-key``, and
answers with scripted replies (a ``GenerateContentResponse`` JSON, or a Google API error body).
Every request is recorded (path, model, headers, parsed JSON body) for assertions.
``GET /{v1|v1beta}/models/{model}`` (``models.get``, what ``tubeq doctor`` calls) answers a
``Model`` resource, or 404 NOT_FOUND for a model not in ``known_models``; a bad key gets
400 INVALID_ARGUMENT with reason ``API_KEY_INVALID``. Those go to ``model_gets``.

Replies come from the script queue first (``push``), then from ``responder`` (a function of
the request body), else a 500 that says the test forgot to script a reply.

Like the real API it refuses a request body with an unknown top-level field or an unknown
``generationConfig`` field (400 INVALID_ARGUMENT, "Invalid JSON payload received. Unknown
name …"), so a request-shape regression fails a test instead of passing silently. Proto-JSON
accepts both the lowerCamelCase and the original snake_case name of a field; so does the stub.
Refused requests are recorded in ``rejected``, not in ``requests``.

Billing: every 200 answer to ``generateContent`` carries ``usageMetadata``, as the API's do,
and is a billed call; the stub keeps the usage of each in ``billed`` (before the reply is
sent, so a test sees it as soon as the client has the reply). Errors (4xx, 5xx) are not
billed. ``cap_bound`` answers like a model that needs a given number of output tokens: under a
lower ``maxOutputTokens`` it is cut off (finish reason ``MAX_TOKENS``, the JSON unfinished).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from pydantic import SecretStr

from shared.adapter_settings import GeminiSettings
from shared.rate_budget import InProcessRateBudget, Limits
from tests.support.gemini_embed import EmbedStub
from tests.support.loopback import LoopbackServer

_PATH = re.compile(r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):generateContent$")
# embeddings (tests.support.gemini_embed): batchEmbedContents, embedContent
_EMBED_PATH = re.compile(
    r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):(?P<method>batchEmbedContents|embedContent)$"
)
# models.get (what `tubeq doctor` calls): free, changes nothing
_MODEL_PATH = re.compile(r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+)$")

# GenerateContentRequest and GenerationConfig as the Gemini API (v1beta) documents them.
REQUEST_FIELDS = frozenset(
    {
        "model",
        "contents",
        "tools",
        "toolConfig",
        "safetySettings",
        "systemInstruction",
        "generationConfig",
        "cachedContent",
    }
)
GENERATION_CONFIG_FIELDS = frozenset(
    {
        "stopSequences",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "_responseJsonSchema",
        "responseModalities",
        "candidateCount",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseLogprobs",
        "logprobs",
        "enableEnhancedCivicAnswers",
        "speechConfig",
        "thinkingConfig",
        "imageConfig",
        "mediaResolution",
    }
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def unknown_field_error(body: object) -> StubReply | None:
    """The 400 the API answers for an unknown field, or None when every field is known."""
    if not isinstance(body, dict):
        return _invalid_payload("Invalid JSON payload received. Expected an object.", "")
    for name in body:
        if _camel(name) not in REQUEST_FIELDS:
            return _invalid_payload(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.', ""
            )
    config = body.get("generationConfig", body.get("generation_config"))
    if isinstance(config, dict):
        for name in config:
            if _camel(name) not in GENERATION_CONFIG_FIELDS:
                return _invalid_payload(
                    f'Invalid JSON payload received. Unknown name "{name}" at '
                    "'generation_config': Cannot find field.",
                    "generation_config",
                )
    return None


def _invalid_payload(message: str, field_path: str) -> StubReply:
    return StubReply(
        status=400,
        body={
            "error": {
                "code": 400,
                "message": message,
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field_path, "description": message}],
                    }
                ],
            }
        },
    )


@dataclass
class StubReply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    version: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system_instruction(self) -> str:
        parts = (self.body.get("systemInstruction") or {}).get("parts") or []
        return "".join(p.get("text", "") for p in parts)

    @property
    def user_texts(self) -> list[str]:
        """Text parts of the user turns, in order."""
        return [
            p["text"]
            for c in self.body.get("contents", [])
            if c.get("role", "user") == "user"
            for p in c.get("parts", [])
            if "text" in p
        ]

    @property
    def generation_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.body.get("generationConfig") or {}
        return config


Responder = Callable[[RecordedRequest], StubReply]


# ---- reply builders (the shapes the real API sends) --------------------------------------


def analysis_dict(**overrides: Any) -> dict[str, Any]:
    """A valid AnalysisContent as the model would send it."""
    value: dict[str, Any] = {
        "summary": "The speaker explains how queues make batch work reliable.",
        "key_points": ["Queues decouple producers from consumers.", "Retries need backoff."],
        "topics": ["queues", "reliability"],
        "quotes": [{"text": "at least once, every time", "start_s": 12.5, "speaker": None}],
        "language": "en",
    }
    value.update(overrides)
    return value


def usage(prompt: int = 1200, output: int = 300, thinking: int = 0) -> dict[str, int]:
    meta = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thinking,
    }
    if thinking:
        meta["thoughtsTokenCount"] = thinking
    return meta


def ok(
    content: dict[str, Any] | str,
    *,
    prompt_tokens: int = 1200,
    output_tokens: int = 300,
    thinking_tokens: int = 0,
    finish_reason: str = "STOP",
) -> StubReply:
    """A 200 with one candidate whose text is ``content`` (a dict is sent as JSON)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return StubReply(
        body={
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": usage(prompt_tokens, output_tokens, thinking_tokens),
            "modelVersion": "stub",
            "responseId": "stub-response",
        }
    )


def analysis_with_extras() -> dict[str, Any]:
    """A valid analysis plus keys the schema does not know, at the top and inside a quote."""
    value = analysis_dict(verdict="great", confidence=0.93)
    value["quotes"] = [{"text": "at least once", "start_s": 3.0, "mood": "calm"}]
    return value


def truncated(
    text: str,
    *,
    prompt_tokens: int = 1200,
    output_tokens: int = 4096,
    thinking_tokens: int = 0,
) -> StubReply:
    """A reply cut off by the output-token cap: finish reason ``MAX_TOKENS``, the text (the
    start of a JSON object) unfinished; no content at all when ``text`` is empty (the cap was
    spent on thinking)."""
    candidate: dict[str, Any] = {"finishReason": "MAX_TOKENS", "index": 0}
    if text:
        candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    return StubReply(
        body={
            "candidates": [candidate],
            "usageMetadata": usage(prompt_tokens, output_tokens, thinking_tokens),
            "modelVersion": "stub",
            "responseId": "stub-response",
        }
    )


def cap_bound(
    content: dict[str, Any], needs: int, *, prompt_tokens: int = 1200
) -> Callable[[RecordedRequest], StubReply]:
    """A responder for a model whose answer takes ``needs`` output tokens: under a lower
    ``maxOutputTokens`` it is cut off at the cap (the JSON ends mid-way), else it is whole."""
    text = json.dumps(content)

    def respond(request: RecordedRequest) -> StubReply:
        cap = int(request.generation_config.get("maxOutputTokens") or 1_000_000)
        if cap < needs:
            cut = text[: max(1, len(text) * cap // needs - 1)]
            return truncated(cut, prompt_tokens=prompt_tokens, output_tokens=cap)
        return ok(content, prompt_tokens=prompt_tokens, output_tokens=needs)

    return respond


def prompt_blocked(reason: str = "SAFETY") -> StubReply:
    """The prompt itself was blocked: no candidates, ``promptFeedback.blockReason``."""
    return StubReply(
        body={
            "promptFeedback": {
                "blockReason": reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": usage(900, 0),
        }
    )


def candidate_stopped(reason: str = "SAFETY") -> StubReply:
    """A candidate with no content that stopped for ``reason``."""
    return StubReply(
        body={
            "candidates": [
                {
                    "finishReason": reason,
                    "index": 0,
                    "safetyRatings": [
                        {
                            "category": "HARM_CATEGORY_HARASSMENT",
                            "probability": "HIGH",
                            "blocked": True,
                        }
                    ],
                }
            ],
            "usageMetadata": usage(900, 0),
        }
    )


def api_error(status: int, message: str, grpc_status: str, **extra: Any) -> StubReply:
    return StubReply(
        status=status,
        body={"error": {"code": status, "message": message, "status": grpc_status, **extra}},
    )


def rate_limited(
    retry_delay: str | None = "17s",
    retry_after: str | None = None,
    quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel",
) -> StubReply:
    """A 429 as Gemini sends it; a ``quota_id`` with ``PerDay`` is the daily quota."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                    "quotaId": quota_id,
                }
            ],
        }
    ]
    if retry_delay is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    reply = api_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "RESOURCE_EXHAUSTED",
        details=details,
    )
    if retry_after is not None:
        reply.headers["Retry-After"] = retry_after
    return reply


def bad_key() -> StubReply:
    """A refused key, as the API sends it: 400 INVALID_ARGUMENT with an ErrorInfo whose
    reason is API_KEY_INVALID."""
    message = "API key not valid. Please pass a valid API key."
    return api_error(
        400,
        message,
        "INVALID_ARGUMENT",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
        ],
    )


def model_resource(model: str) -> dict[str, Any]:
    """A ``Model`` as ``GET /v1beta/models/{model}`` returns it."""
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": model.replace("-", " ").title(),
        "description": "A stub model.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": [
            "generateContent",
            "countTokens",
            "createCachedContent",
            "batchGenerateContent",
        ],
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": True,
    }


def unknown_model(model: str, version: str = "v1beta") -> StubReply:
    return api_error(
        404,
        f"models/{model} is not found for API version {version}, or is not supported for "
        "GetModel. Call ListModels to see the list of available models and their supported "
        "methods.",
        "NOT_FOUND",
    )


def server_error(status: int = 500) -> StubReply:
    if status == 503:
        return api_error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE")
    return api_error(status, "An internal error has occurred.", "INTERNAL")


# ---- the server ----------------------------------------------------------------------------


class GeminiStub:
    def __init__(self, api_key: str = "stub-key") -> None:
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        #: the ``usageMetadata`` of every billed answer (a 200 to generateContent), in order
        self.billed: list[dict[str, int]] = []
        #: requests refused for an unknown field (never reach the script or the responder)
        self.rejected: list[dict[str, Any]] = []
        self.script: deque[StubReply] = deque()
        self.responder: Responder | None = None
        #: the models ``GET /{version}/models/{model}`` knows; ``None``: every model
        self.known_models: set[str] | None = None
        #: the models asked for through models.get (kept apart from ``requests``, which
        #: holds the paid generateContent calls)
        self.model_gets: list[str] = []
        #: scripted replies for models.get, before the known-models answer
        self.model_script: deque[StubReply] = deque()
        #: the embedding model (``tests.support.gemini_embed``): its calls and vectors
        self.embed = EmbedStub()
        #: scripted answers to embedding calls, before the embedding model answers
        self.embed_script: deque[StubReply] = deque()
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler_class())

    @property
    def base_url(self) -> str:
        return self._http.origin

    def push(self, *replies: StubReply) -> None:
        with self._lock:
            self.script.extend(replies)

    def start(self) -> GeminiStub:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> GeminiStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, request: RecordedRequest) -> StubReply:
        with self._lock:
            self.requests.append(request)
            if self.script:
                return self.script.popleft()
            responder = self.responder
        if responder is not None:
            return responder(request)
        return api_error(500, "gemini stub: no scripted reply left for this request", "INTERNAL")

    def _bill(self, reply: StubReply) -> None:
        """Count ``reply`` as billed when it is a 200 (with the usage the API always sends)."""
        if reply.status != 200 or not isinstance(reply.body, dict):
            return
        meta = reply.body.get("usageMetadata")
        with self._lock:  # a hand-made 200 without usage is still a billed call
            self.billed.append(dict(meta) if isinstance(meta, dict) else {})

    def billed_cost(self, input_per_m: float, output_per_m: float) -> float:
        """What the billed answers cost at these prices (thinking billed as output)."""
        total = 0.0
        for meta in list(self.billed):
            output = meta.get("candidatesTokenCount", 0) + meta.get("thoughtsTokenCount", 0)
            total += meta.get("promptTokenCount", 0) * input_per_m + output * output_per_m
        return total / 1_000_000

    def _model_reply(self, path: str, key: str | None) -> StubReply:
        """``models.get``: the model's resource, or the API's error for it."""
        match = _MODEL_PATH.match(path)
        if match is None:
            return api_error(404, f"stub: unknown path {path}", "NOT_FOUND")
        if key != self.api_key:
            return bad_key()
        model = match["model"]
        with self._lock:
            self.model_gets.append(model)
            if self.model_script:
                return self.model_script.popleft()
            known = self.known_models
        if known is not None and model not in known:
            return unknown_model(model, match["version"])
        return StubReply(body=model_resource(model))

    def _embed_reply(self, match: re.Match[str], key: str | None, raw: bytes) -> StubReply:
        if key != self.api_key:
            return bad_key()
        with self._lock:
            if self.embed_script:
                return self.embed_script.popleft()  # a scripted answer (429, 503, …) first
            status, body = self.embed.answer(
                match["model"], match["method"], json.loads(raw or b"{}")
            )
        return StubReply(status=status, body=body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, reply: StubReply) -> None:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = raw.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self) -> None:
                key = self.headers.get("x-goog-api-key")
                self._send(stub._model_reply(self.path.split("?", 1)[0], key))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                embed = _EMBED_PATH.match(self.path.split("?", 1)[0])
                if embed is not None:
                    self._send(stub._embed_reply(embed, self.headers.get("x-goog-api-key"), raw))
                    return
                match = _PATH.match(self.path.split("?", 1)[0])
                if match is None:
                    self._send(api_error(404, f"stub: unknown path {self.path}", "NOT_FOUND"))
                    return
                if self.headers.get("x-goog-api-key") != stub.api_key:
                    self._send(
                        api_error(
                            400,
                            "API key not valid. Please pass a valid API key.",
                            "INVALID_ARGUMENT",
                        )
                    )
                    return
                body = json.loads(raw or b"{}")
                refused = unknown_field_error(body)
                if refused is not None:
                    with stub._lock:
                        stub.rejected.append(body)
                    self._send(refused)
                    return
                request = RecordedRequest(
                    path=self.path,
                    version=match["version"],
                    model=match["model"],
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = stub._reply_for(request)
                stub._bill(reply)
                self._send(reply)

        return Handler


class _ServesGemini(Protocol):
    api_key: str

    @property
    def base_url(self) -> str: ...


def section_for(stub: _ServesGemini, **overrides: Any) -> GeminiSettings:
    """The Gemini adapters' settings section pointed at a stub (this one or the Batch API's):
    its key and address, a 5 s timeout, and no waiting on a budget (a test's budget is ample
    or the refusal is the point)."""
    fields: dict[str, Any] = {"timeout_s": 5.0, "budget_wait_s": 0.0, **overrides}
    return GeminiSettings(api_key=SecretStr(stub.api_key), base_url=stub.base_url, **fields)


def ample_budget() -> InProcessRateBudget:
    """A rate budget no contract test comes near (the budget has its own suite)."""
    return InProcessRateBudget(Limits(requests=10_000, tokens=100_000_000))
