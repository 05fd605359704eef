"""Semantic search on PostgreSQL through psycopg: the functions of ``sql/015_embeddings.sql``
(vectors stored as ``real[]``, searched with pgvector), one call per step.

As in ``postgres_search``, one connection per adapter (the API builds one per request; the
consumer one per process), autocommit, no prepared statements (a transaction pooler such as
Supabase's keeps no session state between calls), the statement timeout in the same message.
A database without pgvector answers the search with SQLSTATE 0A000, which becomes a
``ConfigError`` (this server is not set up for it: the API answers 503) that says how to
enable it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from shared.adapters._postgres_connection import PostgresConnection
from shared.classify import classify
from shared.embeddings import (
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    SemanticMatch,
)
from shared.errors import ConfigError
from shared.search import SearchQuery
from shared.sql_queries import Queries, load
from shared.vector_rows import matches_from_json, plan_from_json, save_rows, search_args

QUERIES: Queries = load("postgres_vectors.sql")
TIMEOUT: Queries = load("postgres_search.sql")
#: SQLSTATE feature_not_supported: tubeq_semantic_search on a database without pgvector
NO_PGVECTOR = "0A000"


class PostgresVectors(PostgresConnection):
    name = "postgres"

    application_name = "tubeq-vectors"
    needs_dsn = "postgres semantic search needs it"

    def _call(self, name: str, params: dict[str, Any]) -> Any:
        statement = TIMEOUT["statement_timeout"] + ";\n" + QUERIES[name]
        params = params | {"timeout_ms": int(self._timeout_s * 1000)}
        try:
            with self._lock:
                cur = psycopg.ClientCursor(self._connection())
                cur.execute(statement, params)
                cur.nextset()  # past the SET to the call's value
                row = cur.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate == NO_PGVECTOR:
                hint = exc.diag.message_hint or ""
                raise ConfigError(f"{exc.diag.message_primary} ({hint})") from None
            raise classify(exc) from exc
        return row[0] if row else None

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
                "rows": Jsonb(save_rows(model, rows)),
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
