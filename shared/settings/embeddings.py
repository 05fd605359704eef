"""Semantic search (issue 13): the embedding model, its price and batch size, and the
embedded store's vector file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.adapter_settings import SqliteVectorSettings
from shared.settings.storage import EmbeddedFileFields


class EmbeddingFields(EmbeddedFileFields):
    """``TUBEQ_EMBEDDING_*`` and the embedded vector file, ``TUBEQ_VECTORS_PATH``."""

    embedding_backend: Literal["none", "gemini"] = Field(
        "none",
        description="Semantic search: `none` (search stays full-text) or `gemini` (every analysed "
        "video's passages are embedded by a `video.embed` job; `tubeq search --mode hybrid`).",
    )
    embedding_model: str = Field(
        "gemini-embedding-001",
        min_length=1,
        description="Embedding model id; stored with every vector (a new model re-embeds).",
    )
    embedding_dimensions: int = Field(
        768,
        ge=1,
        le=4000,
        description="Output dimensionality asked of the model (768, 1536 or 3072 for "
        "gemini-embedding-001); stored with every vector.",
    )
    embedding_price_per_m: float = Field(
        0.15,
        ge=0,
        description="USD per million input tokens embedded (gemini-embedding-001 list price).",
    )
    embedding_batch_size: int = Field(
        100, ge=1, le=100, description="Texts per embedding call (the API takes at most 100)."
    )
    vectors_path: Path | None = Field(
        None,
        description="SQLite (sqlite-vec) vector file of the embedded store "
        "(default `<data_dir>/vectors.sqlite3`).",
    )

    @property
    def vectors_file(self) -> Path:
        return self.vectors_path or self.data_dir / "vectors.sqlite3"

    @property
    def sqlite_vectors(self) -> SqliteVectorSettings:
        return SqliteVectorSettings(results_file=self.results_file, vectors_file=self.vectors_file)
