"""The embedding side of the local Gemini stub (``tests.support.gemini_stub.GeminiStub``
routes ``POST /{v1|v1beta}/models/{model}:batchEmbedContents`` and ``…:embedContent`` here).

Follows the Gemini API v1beta as google-genai 3.6 calls it (``google/genai/models.py``,
``Models._embed_content`` with ``_EmbedContentParametersPrivate_to_mldev``): on the Gemini
Developer API, ``client.models.embed_content(model, contents=[…], config=EmbedContentConfig(
task_type=…, output_dimensionality=…))`` always posts ``{model}:batchEmbedContents`` with

    {"requests": [{"model": "models/<model>",
                   "content": {"parts": [{"text": "…"}], "role": "user"},
                   "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 768}, …]}

and reads ``{"embeddings": [{"values": [...]}, …], "usageMetadata": {…}}`` (the SDK maps
``usageMetadata``; ``send_usage=False`` answers without it, as older API versions did).
Checked like the API: at most 100 requests per call (400 INVALID_ARGUMENT ``* Batch
EmbedContentsRequest.requests: at most 100 requests can be in one batch``), every request's
model the URL's, known field names only, no empty text (400 ``EmbedContentRequest.content
contains an empty Part.``), ``outputDimensionality`` 1-3072 (the model's size,
and its default), a model not in ``known_models`` a 404 NOT_FOUND; ``embedContent`` (one
text) is answered too.

The vectors are deterministic and crudely semantic, so a test can show a paraphrase found:
each word is lowercased, mapped through ``synonyms`` (a test's small thesaurus: "rushed" →
"hurried"), stop words dropped, and hashed to one dimension (and a sign) of the output size;
a text's vector is the sum over its words. Texts that share meaning words are near.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 100
MAX_DIMENSIONS = 3072
REQUEST_FIELDS = frozenset({"model", "content", "taskType", "title", "outputDimensionality"})
TASK_TYPES = frozenset(
    {
        "TASK_TYPE_UNSPECIFIED",
        "RETRIEVAL_QUERY",
        "RETRIEVAL_DOCUMENT",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    }
)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "let's",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "without",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"[a-z0-9']+")


def _error(status: int, message: str, grpc_status: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": grpc_status}}


@dataclass
class EmbedStub:
    known_models: set[str] = field(default_factory=lambda: {"gemini-embedding-001"})
    synonyms: dict[str, str] = field(default_factory=dict)
    send_usage: bool = True
    #: answer vectors of this size whatever was asked (a model that ignores the setting)
    answer_dims: int | None = None
    #: every request that reached the model (a list of texts per call), in order
    calls: list[list[str]] = field(default_factory=list)
    #: the task type and size of each call
    configs: list[tuple[str | None, int | None]] = field(default_factory=list)

    def vector(self, text: str, dims: int) -> list[float]:
        values = [0.0] * dims
        for word in _WORD.findall(text.lower()):
            word = self.synonyms.get(word, word)
            if word in _STOP:
                continue
            digest = hashlib.sha256(word.encode()).digest()
            slot = int.from_bytes(digest[:4], "big") % dims
            values[slot] += 1.0 if digest[4] & 1 else -1.0
        return values

    def answer(self, model: str, method: str, body: Any) -> tuple[int, dict[str, Any]]:
        """The status and JSON body the API answers to ``POST models/{model}:{method}``."""
        if model not in self.known_models:
            return _error(
                404,
                f"models/{model} is not found for API version v1beta, or is not supported for "
                f"{method}. Call ListModels to see the list of available models and their "
                "supported methods.",
                "NOT_FOUND",
            )
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        if method == "embedContent":
            requests = [body]
        else:
            unknown = set(body) - {"requests"}
            if unknown:
                return _error(
                    400,
                    f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}": '
                    "Cannot find field.",
                    "INVALID_ARGUMENT",
                )
            requests = body.get("requests") or []
            if len(requests) > MAX_BATCH:
                return _error(
                    400,
                    "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one "
                    "batch\n",
                    "INVALID_ARGUMENT",
                )
        texts: list[str] = []
        sizes: set[int] = set()
        tasks: set[str | None] = set()
        for i, request in enumerate(requests):
            refused = self._check(model, i, request)
            if refused is not None:
                return refused
            parts = request["content"].get("parts") or []
            texts.append("".join(p.get("text", "") for p in parts))
            sizes.add(int(request.get("outputDimensionality") or MAX_DIMENSIONS))
            tasks.add(request.get("taskType"))
        self.calls.append(texts)
        self.configs.append((next(iter(tasks)) if len(tasks) == 1 else None, max(sizes or {0})))
        embeddings = [
            {
                "values": self.vector(
                    t, self.answer_dims or int(r.get("outputDimensionality") or MAX_DIMENSIONS)
                )
            }
            for t, r in zip(texts, requests, strict=True)
        ]
        reply: dict[str, Any] = (
            {"embedding": embeddings[0]} if method == "embedContent" else {"embeddings": embeddings}
        )
        if self.send_usage:
            tokens = sum(max(1, len(t) // 4) for t in texts)
            reply["usageMetadata"] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        return 200, reply

    def _check(self, model: str, i: int, request: Any) -> tuple[int, dict[str, Any]] | None:
        where = f"requests[{i}]"
        if not isinstance(request, dict) or not isinstance(request.get("content"), dict):
            return _error(400, f"* {where}.content: required", "INVALID_ARGUMENT")
        unknown = set(request) - REQUEST_FIELDS
        if unknown:
            return _error(
                400,
                f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at '
                f"'{where}': Cannot find field.",
                "INVALID_ARGUMENT",
            )
        if request.get("model") not in (None, f"models/{model}"):
            return _error(
                400,
                f"* BatchEmbedContentsRequest.{where}.model: the model of each request must "
                "be the batch's model",
                "INVALID_ARGUMENT",
            )
        parts = request["content"].get("parts") or []
        if not parts or any(not p.get("text") for p in parts if isinstance(p, dict)):
            # as the API answers an empty text (reported by users of its OpenAI endpoint,
            # which forwards to this one; whitespace alone is accepted and embedded)
            return _error(
                400, "EmbedContentRequest.content contains an empty Part.", "INVALID_ARGUMENT"
            )
        task = request.get("taskType")
        if task is not None and task not in TASK_TYPES:
            return _error(400, f"Invalid value at '{where}.task_type' ({task})", "INVALID_ARGUMENT")
        size = request.get("outputDimensionality")
        if size is not None and not 1 <= int(size) <= MAX_DIMENSIONS:
            return _error(
                400,
                f"* {where}.output_dimensionality: must be between 1 and {MAX_DIMENSIONS}",
                "INVALID_ARGUMENT",
            )
        return None
