"""Search over the result store's transcripts: full-text always; semantic and hybrid when
an embedding model is set, its vectors beside the result store's own data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.embeddings import EmbeddingModel
from shared.errors import ConfigError
from shared.factory._load import adapter, on_store
from shared.ports import Embedder, Search, SpendLedger, VectorIndex
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.hybrid import RankedSearch

#: full-text search (issue 13), over the result store's own transcripts
_SEARCHES = {
    "sqlite": "shared.adapters.sqlite_search:SqliteSearch",
    "postgres": "shared.adapters.postgres_search:PostgresSearch",
    "supabase": "shared.adapters.supabase_search:SupabaseSearch",
}
#: semantic search (issue 13): vectors beside the result store's own data
_VECTORS = {
    "sqlite": "shared.adapters.sqlite_vectors:SqliteVectors",
    "postgres": "shared.adapters.postgres_vectors:PostgresVectors",
    "supabase": "shared.adapters.supabase_vectors:SupabaseVectors",
}
_EMBEDDERS = {"gemini": "shared.adapters.gemini_embedder:GeminiEmbedder"}


def embedding_model(settings: Settings) -> EmbeddingModel:
    return EmbeddingModel(settings.embedding_model, settings.embedding_dimensions)


def build_embedder(settings: Settings) -> Embedder:
    """Gemini's embedding model (``TUBEQ_EMBEDDING_BACKEND=gemini``); ``ConfigError`` when
    semantic search is off."""
    if settings.embedding_backend == "none":
        raise ConfigError(
            "semantic search is off (TUBEQ_EMBEDDING_BACKEND=none): set it to gemini, with "
            "TUBEQ_GEMINI_API_KEY, to embed passages and search by meaning"
        )
    embedder: Embedder = adapter(_EMBEDDERS, "gemini").from_settings(
        settings.gemini,
        model=embedding_model(settings),
        price_per_m=settings.embedding_price_per_m,
        max_batch=settings.embedding_batch_size,
    )
    return embedder


def build_vectors(settings: Settings) -> VectorIndex:
    """The vector index of the selected result store (sqlite-vec, pgvector)."""
    # sqlite-vec keeps its vectors in a file of their own, beside the result store's
    vectors: VectorIndex = on_store(_VECTORS, settings, sqlite=settings.sqlite_vectors)
    return vectors


def build_search(settings: Settings, *, ledger: SpendLedger | None = None) -> RankedSearch:
    """Search on the selected result store: full-text always, semantic and hybrid when
    ``TUBEQ_EMBEDDING_BACKEND`` is set (its query embeddings recorded in ``ledger``). Cheap
    to build, so one per request is fine. The caller closes it."""
    from shared.hybrid import RankedSearch, SemanticSide

    fulltext: Search = on_store(_SEARCHES, settings)
    if settings.embedding_backend == "none":
        return RankedSearch(fulltext)
    try:
        embedder = build_embedder(settings)
        try:
            vectors = build_vectors(settings)
        except BaseException:
            embedder.close()
            raise
    except BaseException:
        fulltext.close()
        raise
    return RankedSearch(fulltext, SemanticSide(vectors, embedder, ledger))
