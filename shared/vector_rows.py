"""The JSON shapes of the Postgres/Supabase vector functions (``sql/015_embeddings.sql``),
shared by ``postgres_vectors`` (psycopg) and ``supabase_vectors`` (PostgREST rpc)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.embeddings import (
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    EmbeddingSource,
    SemanticMatch,
    SourceKind,
    VideoCard,
)
from shared.search import SearchQuery


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def card_from_json(data: dict[str, Any]) -> VideoCard:
    return VideoCard(
        video_id=str(data["video_id"]),
        title=data.get("title"),
        channel_id=data.get("channel_id"),
        channel_title=data.get("channel_title"),
        published_at=_time(data.get("published_at")),
        language=data.get("language"),
    )


def plan_from_json(data: object) -> EmbeddingPlan | None:
    """``tubeq_embedding_plan``'s answer (null: the video has no finished analysis)."""
    if not isinstance(data, dict) or not isinstance(data.get("card"), dict):
        return None
    sources = [EmbeddingSource.model_validate(s) for s in data.get("sources") or []]
    return EmbeddingPlan(card=card_from_json(data["card"]), sources=sources)


def save_rows(model: EmbeddingModel, rows: Sequence[EmbeddedText]) -> list[dict[str, Any]]:
    """``tubeq_save_embeddings``' p_rows; every vector checked against the model's size."""
    out = []
    for row in rows:
        model.check(row.vector)
        s = row.source
        out.append(
            {
                "kind": s.kind.value,
                "ref": s.ref,
                "at_s": s.at_s,
                "text": s.text,
                "text_hash": s.hash,
                "embedding": [float(x) for x in row.vector],
            }
        )
    return out


def search_args(
    query: SearchQuery, vector: Sequence[float], model: EmbeddingModel
) -> dict[str, Any]:
    """The named parameters of ``tubeq_semantic_search``."""
    return {
        "vector": [float(x) for x in vector],
        "model": model.name,
        "dims": model.dimensions,
        "channel_id": query.channel_id,
        "since": query.since_text(),
        "language": query.language_code(),
        "limit": query.limit,
    }


def matches_from_json(data: object) -> list[SemanticMatch]:
    if not isinstance(data, list):
        return []
    return [
        SemanticMatch(
            card=card_from_json(row),
            kind=SourceKind(row["kind"]),
            at_s=float(row.get("at_s") or 0),
            text=str(row.get("text") or ""),
            similarity=float(row.get("similarity") or 0),
        )
        for row in data
        if isinstance(row, dict)
    ]
