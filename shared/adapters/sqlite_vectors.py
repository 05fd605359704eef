"""Semantic search on the embedded store: sqlite-vec in a vector file beside the results.

The texts to embed are read from the result store's own file (the full-text index's
segment rows and the latest analysis, ``sql/queries/sqlite_vectors.sql``) through the
standard library's sqlite3, as every other SQLite adapter reads it. The vectors live in
``<data_dir>/vectors.sqlite3`` (``sql/queries/sqlite_vectors_schema.sql``), opened through
apsw with the sqlite-vec extension loaded: the standard library's sqlite3 cannot load
extensions on every Python build (pyenv's and some distributions' are built without), apsw
always can. Two SQLite libraries never open the same file here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import apsw
import sqlite_vec

from shared.adapter_settings import SqliteVectorSettings
from shared.adapters._sqlite_results_file import BUSY_TIMEOUT_S, connect, results_file
from shared.adapters._sqlite_results_rows import dt, ts
from shared.adapters._sqlite_search_index import ensure_search_index
from shared.classify import classify
from shared.embeddings import (
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    EmbeddingSource,
    SemanticMatch,
    SourceKind,
    VideoCard,
)
from shared.errors import ConfigError, TransientError
from shared.search import SearchQuery
from shared.sql_queries import Queries, load

QUERIES: Queries = load("sqlite_vectors.sql")
SCHEMA: Queries = load("sqlite_vectors_schema.sql")


class VectorFileError(TransientError):
    """The vector file could not be read or written (locked, full disk, ...)."""

    code = "vector_store"


def open_vector_file(path: Path) -> apsw.Connection:
    """The vector file with sqlite-vec loaded and its tables made (an error that says why
    when the extension cannot be loaded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = apsw.Connection(str(path))
    db.set_busy_timeout(int(BUSY_TIMEOUT_S * 1000))
    try:
        db.enable_load_extension(True)
        db.load_extension(sqlite_vec.loadable_path())
        db.enable_load_extension(False)
    except (apsw.Error, AttributeError) as exc:
        db.close()
        raise ConfigError(
            f"cannot load sqlite-vec into {path}: {exc} (reinstall tubeq: "
            "pip install --force-reinstall sqlite-vec apsw)"
        ) from None
    db.execute("PRAGMA journal_mode = WAL")
    with db:
        for statement in SCHEMA.values():
            db.execute(statement)
    return db


class SqliteVectors:
    name = "sqlite"

    def __init__(self, results_path: Path, vectors_path: Path) -> None:
        self.results_path = results_file(results_path, must_exist=True)
        self.vectors_path = Path(vectors_path).expanduser()
        self._lock = threading.Lock()
        try:
            self._results = connect(self.results_path)
            ensure_search_index(self._results)  # a store made before search existed
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        try:
            self._vectors = open_vector_file(self.vectors_path)
        except apsw.Error as exc:
            self._results.close()
            raise VectorFileError(f"cannot open {self.vectors_path}: {exc}") from None

    @classmethod
    def from_settings(cls, section: SqliteVectorSettings) -> Self:
        return cls(section.results_file, section.vectors_file)

    # ---- the embed job's side -----------------------------------------------------------
    def plan(self, video_id: str, model: EmbeddingModel) -> EmbeddingPlan | None:
        with self._lock:
            card_row, analysis, segments = self._read_sources(video_id)
            if card_row is None or analysis is None:
                return None
            card = VideoCard(
                video_id=card_row["video_id"],
                title=card_row["title"],
                channel_id=card_row["channel_id"],
                channel_title=card_row["channel_title"],
                published_at=dt(card_row["published_at"]),
                language=card_row["language"],
            )
            texts = [
                (SourceKind.SEGMENT, int(row["seg"]), float(row["start_s"]), str(row["body"]))
                for row in segments
            ]
            texts.append((SourceKind.SUMMARY, 0, 0.0, str(analysis["summary"])))
            points = json.loads(analysis["key_points"] or "[]")
            texts += [
                (SourceKind.KEY_POINT, i, 0.0, str(p))
                for i, p in enumerate(points)
                if str(p).strip()
            ]
            params = {"video_id": video_id, "model": model.name, "dims": model.dimensions}
            try:
                with self._vectors:
                    stored = {
                        (kind, int(ref)): text_hash
                        for kind, ref, text_hash in self._vectors.execute(
                            QUERIES["stored_hashes"], params
                        )
                    }
                    current = {(kind.value, ref) for kind, ref, _, _ in texts}
                    for kind, ref in stored.keys() - current:  # texts that are gone
                        self._vectors.execute(
                            QUERIES["drop_vector"], params | {"kind": kind, "ref": ref}
                        )
            except apsw.Error as exc:
                raise VectorFileError(f"{self.vectors_path}: {exc}") from None
        sources = [
            EmbeddingSource(
                kind=kind, ref=ref, at_s=at_s, text=text, stored_hash=stored.get((kind.value, ref))
            )
            for kind, ref, at_s, text in texts
        ]
        return EmbeddingPlan(card=card, sources=sources)

    def _read_sources(self, video_id: str) -> tuple[Any, Any, list[Any]]:
        params = {"video_id": video_id}
        try:
            card = self._results.execute(QUERIES["video_card"], params).fetchone()
            analysis = self._results.execute(QUERIES["latest_analysis"], params).fetchone()
            segments = self._results.execute(QUERIES["segment_texts"], params).fetchall()
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        return card, analysis, segments

    def save(
        self, plan: EmbeddingPlan, model: EmbeddingModel, rows: Sequence[EmbeddedText]
    ) -> None:
        card = plan.card
        now = datetime.now(UTC).isoformat()
        base = {"video_id": card.video_id, "model": model.name, "dims": model.dimensions}
        try:
            with self._lock, self._vectors:
                self._vectors.execute(
                    QUERIES["save_card"],
                    {
                        "video_id": card.video_id,
                        "title": card.title,
                        "channel_id": card.channel_id,
                        "channel_title": card.channel_title,
                        "published_at": ts(card.published_at),
                        "language": card.language,
                    },
                )
                for row in rows:
                    model.check(row.vector)
                    s = row.source
                    self._vectors.execute(
                        QUERIES["save_vector"],
                        base
                        | {
                            "kind": s.kind.value,
                            "ref": s.ref,
                            "at_s": s.at_s,
                            "text": s.text,
                            "text_hash": s.hash,
                            "embedding": sqlite_vec.serialize_float32(list(row.vector)),
                            "embedded_at": now,
                        },
                    )
        except apsw.Error as exc:
            raise VectorFileError(f"{self.vectors_path}: {exc}") from None

    # ---- the search's side ----------------------------------------------------------------
    def nearest(
        self, query: SearchQuery, vector: Sequence[float], model: EmbeddingModel
    ) -> list[SemanticMatch]:
        model.check(vector)
        params = {
            "vector": sqlite_vec.serialize_float32(list(vector)),
            "model": model.name,
            "dims": model.dimensions,
            "channel_id": query.channel_id,
            "since": query.since_text(),
            "language": query.language_code(),
            "limit": query.limit,
        }
        try:
            with self._lock:
                rows = list(self._vectors.execute(QUERIES["nearest"], params))
        except apsw.Error as exc:
            raise VectorFileError(f"{self.vectors_path}: {exc}") from None
        matches = []
        for (
            video_id,
            kind,
            at_s,
            text,
            similarity,
            title,
            channel,
            channel_title,
            pub,
            lang,
        ) in rows:
            card = VideoCard(
                video_id=video_id,
                title=title,
                channel_id=channel,
                channel_title=channel_title,
                published_at=dt(pub),
                language=lang,
            )
            matches.append(
                SemanticMatch(
                    card=card,
                    kind=SourceKind(kind),
                    at_s=float(at_s),
                    text=text,
                    similarity=float(similarity),
                )
            )
        return matches

    def count(self, model: EmbeddingModel) -> int:
        try:
            with self._lock:
                rows = list(
                    self._vectors.execute(
                        QUERIES["count"], {"model": model.name, "dims": model.dimensions}
                    )
                )
        except apsw.Error as exc:
            raise VectorFileError(f"{self.vectors_path}: {exc}") from None
        return int(rows[0][0]) if rows else 0

    def analysed_videos(self, channel_id: str | None = None) -> list[str]:
        try:
            with self._lock:
                rows = self._results.execute(
                    QUERIES["analysed_videos"], {"channel_id": channel_id}
                ).fetchall()
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        return [str(row["video_id"]) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._results.close()
            self._vectors.close()
