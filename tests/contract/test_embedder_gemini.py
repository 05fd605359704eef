"""The embedder contract on the Gemini embedder: the real google-genai client against the
local Gemini stub's embedding model (``tests/support/gemini_embed.py``), then what only a
Gemini embedder has: the request's task type and size, billing from ``usageMetadata`` (or
counted when the API leaves it out), the API's 100-text cap and an unknown model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client
from shared.adapters.gemini_embedder import MAX_BATCH, GeminiEmbedder, UnknownEmbeddingModel
from shared.embeddings import EmbeddingModel, EmbedTask
from shared.errors import ConfigError
from shared.gemini.chunking import estimate_tokens
from tests.contract.embedder_contract import MODEL, TEXTS, EmbedderContract, Fault, texts
from tests.support import gemini_embed
from tests.support import gemini_stub as gs

pytestmark = pytest.mark.services

PRICE_PER_M = 0.15


@dataclass
class GeminiHarness:
    stub: gs.GeminiStub
    name: str = "gemini"
    paid: bool = True
    api_max_batch: int = gemini_embed.MAX_BATCH
    remote: bool = True

    def section(self) -> GeminiSettings:
        return gs.section_for(self.stub)

    def make(self, model: EmbeddingModel = MODEL, max_batch: int | None = None) -> GeminiEmbedder:
        return GeminiEmbedder.from_settings(
            self.section(),
            model=model,
            price_per_m=PRICE_PER_M,
            max_batch=MAX_BATCH if max_batch is None else max_batch,
        )

    def calls(self) -> list[list[str]]:
        return list(self.stub.embed.calls)

    def fault(self, kind: Fault) -> None:
        if kind == "wrong_size":
            self.stub.embed.answer_dims = 3072
            return
        reply = {
            "rate_limited": gs.rate_limited("17s"),
            "rejected": gs.api_error(
                400, "Request contains an invalid argument.", "INVALID_ARGUMENT"
            ),
            "unavailable": gs.server_error(503),
        }[kind]
        self.stub.embed_script.append(reply)


@pytest.fixture
def stub() -> Iterator[gs.GeminiStub]:
    structlog.reset_defaults()  # another test may leave it printing to a closed stream
    server = gs.GeminiStub().start()
    yield server
    server.stop()
    structlog.reset_defaults()


class TestGeminiEmbedder(EmbedderContract):
    @pytest.fixture
    def harness(self, stub: gs.GeminiStub) -> GeminiHarness:
        return GeminiHarness(stub)


@pytest.fixture
def harness(stub: gs.GeminiStub) -> GeminiHarness:
    return GeminiHarness(stub)


def test_each_request_says_the_task_and_the_size(harness: GeminiHarness) -> None:
    embedder = harness.make(EmbeddingModel(MODEL.name, 1536))
    try:
        embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        embedder.embed(TEXTS[:1], EmbedTask.QUERY)
    finally:
        embedder.close()
    assert harness.stub.embed.configs == [("RETRIEVAL_DOCUMENT", 1536), ("RETRIEVAL_QUERY", 1536)]


def test_the_bill_is_the_apis_token_count_at_the_price(harness: GeminiHarness) -> None:
    embedder = harness.make()
    try:
        _, usage = embedder.embed(TEXTS, EmbedTask.DOCUMENT)
    finally:
        embedder.close()
    tokens = sum(max(1, len(t) // 4) for t in TEXTS)  # the stub's usageMetadata
    assert usage.prompt_tokens == tokens
    assert usage.cost_usd == pytest.approx(tokens * PRICE_PER_M / 1_000_000)


def test_without_usage_metadata_the_tokens_are_counted_from_the_texts(
    harness: GeminiHarness,
) -> None:
    # the API has not always sent usageMetadata for embeddings: the ledger still gets a sum
    harness.stub.embed.send_usage = False
    embedder = harness.make()
    try:
        _, usage = embedder.embed(TEXTS, EmbedTask.DOCUMENT)
    finally:
        embedder.close()
    tokens = sum(estimate_tokens(t) for t in TEXTS)
    assert usage.model_calls == 1 and usage.prompt_tokens == tokens > 0
    assert usage.cost_usd == pytest.approx(tokens * PRICE_PER_M / 1_000_000)


def test_the_batch_setting_cannot_exceed_what_the_api_takes(harness: GeminiHarness) -> None:
    assert MAX_BATCH == gemini_embed.MAX_BATCH  # the API's cap, as the stub enforces it
    with pytest.raises(ConfigError, match="TUBEQ_EMBEDDING_BATCH_SIZE must be 1-100"):
        harness.make(max_batch=MAX_BATCH + 1)
    with pytest.raises(ConfigError):
        harness.make(max_batch=0)


@pytest.mark.parametrize(
    ("batch", "refusal"),
    [(texts(101), "at most 100 requests"), (["fine", ""], "contains an empty Part")],
)
def test_what_the_embedder_refuses_itself_the_api_refuses_for_the_whole_call(
    harness: GeminiHarness, batch: list[str], refusal: str
) -> None:
    """Why the embedder checks first: the stub, like the API, answers 101 texts or an empty
    one with a 400 for every text of the call (sent here through the client itself, past
    the embedder's own checks)."""
    from google.genai import errors as genai_errors
    from google.genai import types

    client = gemini_client(harness.section())
    try:
        with pytest.raises(genai_errors.ClientError, match=refusal):
            client.models.embed_content(
                model=MODEL.name,
                contents=[types.Content(parts=[types.Part(text=t)]) for t in batch],
            )
    finally:
        client.close()
    assert harness.calls() == []


def test_an_unknown_model_is_a_setting_to_fix(harness: GeminiHarness) -> None:
    embedder = harness.make(EmbeddingModel("gemini-embedding-999", 768))
    try:
        with pytest.raises(UnknownEmbeddingModel) as caught:
            embedder.embed(TEXTS, EmbedTask.DOCUMENT)
    finally:
        embedder.close()
    assert caught.value.systemic
    assert "TUBEQ_EMBEDDING_MODEL" in caught.value.message
    assert harness.calls() == []


def test_no_key_is_a_config_error_naming_the_setting(harness: GeminiHarness) -> None:
    with pytest.raises(ConfigError, match="TUBEQ_GEMINI_API_KEY"):
        GeminiEmbedder.from_settings(
            GeminiSettings(base_url=harness.stub.base_url), model=MODEL, price_per_m=PRICE_PER_M
        )
