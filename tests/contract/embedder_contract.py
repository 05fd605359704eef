"""The embedder contract: one suite every ``shared.ports.Embedder`` keeps.

An adapter's test module subclasses ``EmbedderContract`` and provides a ``harness`` fixture
returning an ``EmbedderHarness``: it builds the embedder on its backend (the Gemini stub
through the real google-genai client), says which texts reached that backend (``calls``: one
entry per request the backend answered, i.e. per billed call) and declares what the embedder
is: paid or not, the most texts its backend takes in one call, and whether it talks to a
remote API that can answer with an error (``remote``; ``fault`` then makes it do so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal, Protocol

import pytest

from shared import errors
from shared.embeddings import DimensionMismatch, EmbeddingModel, EmbedTask
from shared.models import Usage
from shared.ports import Embedder

MODEL = EmbeddingModel("gemini-embedding-001", 768)

#: distinct texts (no two share a meaning word), so their vectors differ and order shows
TEXTS = [
    "A queue decouples producers from consumers.",
    "Retries back off exponentially with jitter.",
    "Dead letters keep the error for an operator.",
]

Fault = Literal["rate_limited", "rejected", "unavailable", "wrong_size"]


class EmbedderHarness(Protocol):
    #: the embedder's ``name``
    name: str
    #: whether an embedding call is billed (usage counted and priced)
    paid: bool
    #: the most texts the backend takes in one call (an embedder may be set lower)
    api_max_batch: int
    #: a remote API that can fail (429, 400, 503, a wrong vector size); else ``fault`` is
    #: never called
    remote: bool

    def make(self, model: EmbeddingModel = MODEL, max_batch: int | None = None) -> Embedder:
        """A new embedder of ``model`` on the harness's backend (``max_batch``: its
        setting, None for the adapter's default)."""
        ...

    def calls(self) -> list[list[str]]:
        """The texts of every call that reached the backend, in order."""
        ...

    def fault(self, kind: Fault) -> None:
        """The backend's next call answers with this failure: a 429 asking for a 17 s wait,
        a 400 refusal, a 503 outage; ``wrong_size``: vectors of another size from now on."""
        ...


def texts(count: int) -> list[str]:
    return [f"passage {n} about queue number {n * 7 + 3}" for n in range(count)]


class EmbedderContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def embedder(self, harness: EmbedderHarness) -> Iterator[Embedder]:
        built = harness.make()
        yield built
        built.close()

    def test_implements_the_port(self, harness: EmbedderHarness, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder)
        assert embedder.name == harness.name
        assert embedder.model == MODEL
        # the caller cuts its texts into calls of max_batch: more than the backend takes
        # would be refused, every time
        assert 1 <= embedder.max_batch <= harness.api_max_batch

    def test_one_vector_per_text_in_order(self, embedder: Embedder) -> None:
        vectors, _ = embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        assert len(vectors) == len(TEXTS)
        alone = [embedder.embed([t], EmbedTask.DOCUMENT)[0][0] for t in TEXTS]
        assert len({tuple(v) for v in alone}) == len(TEXTS), "the texts must embed apart"
        assert vectors == alone  # the n-th vector is the n-th text's, not a neighbour's

    def test_the_same_text_gives_the_same_vector(self, embedder: Embedder) -> None:
        # a vector is stored by its text's hash and compared with later queries' vectors
        (first, again), _ = embedder.embed([TEXTS[0], TEXTS[0]], EmbedTask.DOCUMENT)
        later, _ = embedder.embed([TEXTS[0]], EmbedTask.DOCUMENT)
        assert first == again == later[0]

    @pytest.mark.parametrize("dimensions", [768, 1536])
    def test_every_vector_has_the_models_size(
        self, harness: EmbedderHarness, dimensions: int
    ) -> None:
        model = EmbeddingModel(MODEL.name, dimensions)
        embedder = harness.make(model)
        try:
            assert embedder.model == model
            for task in EmbedTask:
                vectors, _ = embedder.embed(TEXTS, task)
                assert [len(v) for v in vectors] == [dimensions] * len(TEXTS)
                assert all(any(x != 0 for x in v) for v in vectors)
        finally:
            embedder.close()

    def test_no_texts_is_no_call(self, harness: EmbedderHarness, embedder: Embedder) -> None:
        assert embedder.embed([], EmbedTask.DOCUMENT) == ([], Usage())
        assert harness.calls() == []  # nothing sent, nothing billed

    @pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
    def test_a_blank_text_is_invalid_input_before_any_call(
        self, harness: EmbedderHarness, embedder: Embedder, blank: str
    ) -> None:
        with pytest.raises(errors.InvalidInput) as caught:
            embedder.embed([TEXTS[0], blank], EmbedTask.DOCUMENT)
        # which text (its 0-based place in the list) and that it is blank
        assert re.search(r"\btext 1\b.*\bblank\b", caught.value.message), caught.value.message
        assert harness.calls() == []

    def test_a_full_batch_is_one_call(self, harness: EmbedderHarness) -> None:
        embedder = harness.make(max_batch=harness.api_max_batch)
        try:
            assert embedder.max_batch == harness.api_max_batch
            batch = texts(harness.api_max_batch)
            vectors, usage = embedder.embed(batch, EmbedTask.DOCUMENT)
        finally:
            embedder.close()
        assert len(vectors) == len(batch)
        assert harness.calls() == [batch]
        assert usage.model_calls == (1 if harness.paid else 0)

    @pytest.mark.parametrize("setting", [3, None])
    def test_more_than_max_batch_is_refused_before_any_call(
        self, harness: EmbedderHarness, setting: int | None
    ) -> None:
        embedder = harness.make(max_batch=setting)
        try:
            if setting is not None:
                assert embedder.max_batch == setting
            with pytest.raises(ValueError, match="at most"):
                embedder.embed(texts(embedder.max_batch + 1), EmbedTask.DOCUMENT)
            assert harness.calls() == []
            vectors, _ = embedder.embed(texts(embedder.max_batch), EmbedTask.DOCUMENT)
        finally:
            embedder.close()
        assert len(vectors) == embedder.max_batch
        assert len(harness.calls()) == 1

    def test_each_call_is_billed_once(self, harness: EmbedderHarness, embedder: Embedder) -> None:
        usages = [embedder.embed(TEXTS[:n], task)[1] for n in (1, 3) for task in EmbedTask]
        total = sum(usages, Usage())
        for usage in usages:
            if harness.paid:
                assert usage.model_calls == 1
                assert usage.prompt_tokens > 0 and usage.cost_usd > 0
                assert usage.output_tokens == usage.thinking_tokens == 0
            else:
                assert usage == Usage()
        if harness.paid:
            # each usage is one call at the backend: the ledger gets one row per billed call
            assert total.model_calls == len(harness.calls()) == len(usages)

    def test_a_429_is_rate_limited_with_the_servers_delay(
        self, harness: EmbedderHarness, embedder: Embedder
    ) -> None:
        if not harness.remote:
            pytest.skip("no remote API: nothing to rate-limit it")
        harness.fault("rate_limited")
        with pytest.raises(errors.RateLimited) as caught:
            embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        assert caught.value.retry_after == pytest.approx(17.0)
        # the embedder is still usable: the job's retry goes through
        vectors, _ = embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        assert len(vectors) == len(TEXTS)

    def test_a_400_is_permanent(self, harness: EmbedderHarness, embedder: Embedder) -> None:
        if not harness.remote:
            pytest.skip("no remote API to refuse a request")
        harness.fault("rejected")
        with pytest.raises(errors.PermanentError) as caught:
            embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        assert not isinstance(caught.value, errors.TransientError)
        assert "invalid" in caught.value.message.lower()

    def test_an_outage_is_transient(self, harness: EmbedderHarness, embedder: Embedder) -> None:
        if not harness.remote:
            pytest.skip("no remote API to be down")
        harness.fault("unavailable")
        with pytest.raises(errors.UpstreamUnavailable):
            embedder.embed(TEXTS, EmbedTask.QUERY)

    def test_vectors_of_another_size_are_a_dimension_mismatch(
        self, harness: EmbedderHarness, embedder: Embedder
    ) -> None:
        if not harness.remote:
            pytest.skip("it makes its vectors itself")
        harness.fault("wrong_size")
        with pytest.raises(DimensionMismatch) as caught:
            embedder.embed(TEXTS, EmbedTask.DOCUMENT)
        assert caught.value.systemic  # a setting to fix: the consumer stops, the job kept
        assert "768" in caught.value.message

    def test_close_twice_is_harmless(self, harness: EmbedderHarness) -> None:
        embedder = harness.make()
        embedder.close()
        embedder.close()
