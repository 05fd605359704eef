"""The vector index on Postgres and Supabase: the methods of ``VectorIndex`` over the named
blocks of ``sql/queries/postgres_vectors.sql`` (each one function call of
``sql/015_embeddings.sql``); the subclasses say how a block is run (psycopg, PostgREST), as
``_function_template_results`` does for template results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.embeddings import EmbeddedText, EmbeddingModel, EmbeddingPlan, SemanticMatch
from shared.search import SearchQuery
from shared.vector_rows import matches_from_json, plan_from_json, save_rows, search_args


class FunctionVectors:
    def _call(self, name: str, params: dict[str, Any]) -> Any:
        """Run block ``name`` with ``params``; the function's value as JSON data."""
        raise NotImplementedError

    def _json(self, value: Any) -> Any:
        """A JSON argument as this transport sends it (psycopg needs it wrapped)."""
        return value

    def plan(self, video_id: str, model: EmbeddingModel) -> EmbeddingPlan | None:
        data = self._call(
            "plan", {"video_id": video_id, "model": model.name, "dims": model.dimensions}
        )
        return plan_from_json(data)

    def save(
        self, plan: EmbeddingPlan, model: EmbeddingModel, rows: Sequence[EmbeddedText]
    ) -> None:
        self._call(
            "save",
            {
                "video_id": plan.card.video_id,
                "model": model.name,
                "dims": model.dimensions,
                "rows": self._json(save_rows(model, rows)),
            },
        )

    def nearest(
        self, query: SearchQuery, vector: Sequence[float], model: EmbeddingModel
    ) -> list[SemanticMatch]:
        model.check(vector)
        return matches_from_json(self._call("nearest", search_args(query, vector, model)))

    def count(self, model: EmbeddingModel) -> int:
        return int(self._call("count", {"model": model.name, "dims": model.dimensions}) or 0)

    def analysed_videos(self, channel_id: str | None = None) -> list[str]:
        data = self._call("analysed_videos", {"channel_id": channel_id})
        return sorted(str(v) for v in data) if isinstance(data, list) else []
