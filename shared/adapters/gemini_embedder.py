"""Gemini's embedding model through google-genai: ``client.models.embed_content``, which on
the Gemini API sends ``POST /v1beta/models/{model}:batchEmbedContents`` with one request per
text (``content``, ``taskType``, ``outputDimensionality``) and gets ``embeddings[].values``
back, in order. The API takes at most 100 texts per call (``max_batch``) and embeds at most
2,048 tokens of each (the rest is cut off; tubeq's passages are a caption line or two).

Billing: the API bills input tokens. A reply that carries ``usageMetadata`` gives the count;
one that does not (the API has not always sent it for embeddings) is counted from the texts
(``estimate_tokens``, as the rate budget counts), so the spend ledger always has a number.
The client does not retry on its own: a 429 or 5xx is classified (``shared.classify``) and
the job that called retries later, keeping the batches it already saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client
from shared.classify import classify
from shared.embeddings import EmbeddingModel, EmbedTask
from shared.errors import ConfigError, InvalidInput, InvalidModelOutput, PermanentError
from shared.gemini.chunking import estimate_tokens
from shared.logging import get_logger
from shared.models import Usage

log = get_logger(__name__)

#: ``BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch``
MAX_BATCH = 100


class UnknownEmbeddingModel(PermanentError):
    """Gemini does not know the embedding model (TUBEQ_EMBEDDING_MODEL)."""

    code = "unknown_embedding_model"
    #: a setting to fix, not this video's fault: the consumer stops (exit 4), the job kept
    systemic = True


class GeminiEmbedder:
    name = "gemini"

    def __init__(
        self,
        client: genai.Client,
        *,
        model: EmbeddingModel,
        price_per_m: float,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ConfigError(
                f"TUBEQ_EMBEDDING_BATCH_SIZE must be 1-{MAX_BATCH} (got {max_batch}): "
                "the Gemini API takes at most 100 texts per call"
            )
        self._client = client
        self.model = model
        self._price_per_m = price_per_m
        self.max_batch = max_batch

    @classmethod
    def from_settings(
        cls,
        section: GeminiSettings,
        *,
        model: EmbeddingModel,
        price_per_m: float,
        max_batch: int = MAX_BATCH,
    ) -> Self:
        if section.api_key is None or not section.api_key.get_secret_value():
            raise ConfigError(
                "TUBEQ_GEMINI_API_KEY is not set: semantic search embeds with Gemini "
                "(TUBEQ_EMBEDDING_BACKEND=gemini); create a key in Google AI Studio, or set "
                "TUBEQ_EMBEDDING_BACKEND=none to keep search full-text"
            )
        client = gemini_client(section)
        return cls(client, model=model, price_per_m=price_per_m, max_batch=max_batch)

    def embed(self, texts: Sequence[str], task: EmbedTask) -> tuple[list[list[float]], Usage]:
        if not texts:
            return [], Usage()
        if len(texts) > self.max_batch:
            raise ValueError(f"{len(texts)} texts in one call; at most {self.max_batch}")
        blank = [i for i, t in enumerate(texts) if not t.strip()]
        if blank:
            # "" is a 400 for the whole call at the API, and "  " a vector of nothing
            raise InvalidInput(f"text {blank[0]} of {len(texts)} to embed is blank")
        contents = [types.Content(parts=[types.Part(text=t)]) for t in texts]
        config = types.EmbedContentConfig(
            task_type=task.value, output_dimensionality=self.model.dimensions
        )
        try:
            response = self._client.models.embed_content(
                model=self.model.name, contents=contents, config=config
            )
        except Exception as exc:
            error = classify(exc)
            if _is_unknown_model(exc):
                raise UnknownEmbeddingModel(
                    f"Gemini does not know the embedding model {self.model.name!r}: set "
                    "TUBEQ_EMBEDDING_MODEL to one it has (e.g. gemini-embedding-001)"
                ) from exc
            log.warning("embed.call_failed", error_code=error.code, error=error.message)
            raise error from exc
        vectors = [list(e.values or []) for e in response.embeddings or []]
        if len(vectors) != len(texts):
            raise InvalidModelOutput(
                f"Gemini returned {len(vectors)} embeddings for {len(texts)} texts"
            )
        for vector in vectors:
            self.model.check(vector)
        return vectors, self._usage(response, texts)

    def _usage(self, response: types.EmbedContentResponse, texts: Sequence[str]) -> Usage:
        meta = response.usage_metadata
        tokens = (meta.prompt_token_count or 0) if meta is not None else 0
        if not tokens:
            tokens = sum(estimate_tokens(t) for t in texts)
        return Usage(
            prompt_tokens=tokens,
            model_calls=1,
            cost_usd=round(tokens * self._price_per_m / 1_000_000, 8),
        )

    def close(self) -> None:
        self._client.close()


def _is_unknown_model(exc: Exception) -> bool:
    """A 404 NOT_FOUND: the API's answer to a model id it does not have."""
    return isinstance(exc, genai_errors.APIError) and exc.code == 404
