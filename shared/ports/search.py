"""Search and ask (issue 13): full-text search, answers from passages, embeddings and the
vector index semantic search runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shared.answers import Answer, Passage
from shared.embeddings import (
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    EmbedTask,
    SemanticMatch,
)
from shared.models import Usage
from shared.search import SearchHit, SearchQuery


@runtime_checkable
class Search(Protocol):
    """Full-text search over every transcript in the result store (``shared.search``): FTS5
    on SQLite, tsvector on Postgres and Supabase. Each hit is the segment where the words
    are spoken; a query with nothing to search for is ``InvalidInput``."""

    name: str

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The best hits first, at most ``query.limit``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Answerer(Protocol):
    """Answers a question from numbered transcript passages only (``shared.ask``): Gemini
    with structured output, or offline the passages themselves."""

    name: str

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """The answer and the passages it cites. ``passages`` are numbered 1..n in order (else
        ``InvalidInput``), and ``cited`` holds only those numbers, each once. The question is
        answered with its spacing tidied (``shared.answers.tidy_question``); a blank one is
        ``InvalidInput``. Passages without the answer: ``NOT_IN_VIDEOS``, nothing cited (or,
        from an answerer that cannot judge, the passages labelled ``extractive``). No
        passages: ``NOT_IN_VIDEOS`` with no model call. Each model call is one row in the
        spend ledger."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors (semantic search, ``shared.embeddings``): Gemini's embedding
    model. One call per ``embed``; the caller keeps each batch within ``max_batch``."""

    name: str
    model: EmbeddingModel
    #: the most texts one call takes (the Gemini API: 100)
    max_batch: int

    def embed(self, texts: Sequence[str], task: EmbedTask) -> tuple[list[list[float]], Usage]:
        """One vector per text, in order, each ``model.dimensions`` long (else
        ``DimensionMismatch``), and the call's billed usage (``model_calls=1``). No texts:
        no call (``[]``, no usage). A blank text is ``InvalidInput``, before any call: it
        has no meaning to embed (the Gemini API refuses an empty one with a 400)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class VectorIndex(Protocol):
    """Where the vectors live and are searched: sqlite-vec beside the embedded store,
    pgvector in Postgres/Supabase. Everything is per ``EmbeddingModel``."""

    name: str

    def plan(self, video_id: str, model: EmbeddingModel) -> EmbeddingPlan | None:
        """The video's texts to embed now, each with the hash of its stored vector; vectors of
        texts that are gone (a re-analysed video) are dropped. None: not analysed (yet)."""
        ...

    def save(
        self, plan: EmbeddingPlan, model: EmbeddingModel, rows: Sequence[EmbeddedText]
    ) -> None:
        """Upsert these vectors (by video, model, kind, ref)."""
        ...

    def nearest(
        self, query: SearchQuery, vector: Sequence[float], model: EmbeddingModel
    ) -> list[SemanticMatch]:
        """The passages most similar to ``vector``, best first, at most ``query.limit``,
        with the query's filters (channel, since, language)."""
        ...

    def count(self, model: EmbeddingModel) -> int:
        """How many vectors of this model there are (0: semantic search has nothing yet)."""
        ...

    def analysed_videos(self, channel_id: str | None = None) -> list[str]:
        """Every video with a finished analysis (of this channel), for ``tubeq embed``."""
        ...

    def close(self) -> None: ...
