"""Template results in the SQLite result store's own file (``template_results`` and the
typed views ``video_chapters`` and ``video_mentions``: ``sql/queries/
sqlite_templates_schema.sql``), every statement a named block of
``sql/queries/sqlite_templates.sql``. A connection of its own beside the result store's
(WAL: readers never block the writer; ``BEGIN IMMEDIATE`` and a busy timeout for writes)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from shared.adapter_settings import SqliteStoreSettings
from shared.adapters._sqlite_results_file import connect, results_file
from shared.adapters._sqlite_results_rows import now, ts
from shared.adapters._template_results_rows import artifacts_json, result_of_row
from shared.classify import classify
from shared.errors import ConfigError
from shared.models import ArtifactRef
from shared.sql_queries import Queries, load
from shared.sqlite_wal import enable_wal
from shared.templates.results import TemplateResult

TEMPLATES: Queries = load("sqlite_templates.sql")
TEMPLATES_SCHEMA: Queries = load("sqlite_templates_schema.sql")
#: the result store's tables: completing a result lists its artifacts in ``artifacts`` and
#: the typed views join ``videos``, so a file no result store opened yet needs them too
RESULTS_SCHEMA: Queries = load("sqlite_schema.sql")


class SqliteTemplateResults:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = results_file(path, must_exist=False)
        self._lock = threading.Lock()
        try:
            self._db = connect(self.path)
            enable_wal(self._db)
            schema = [*RESULTS_SCHEMA.values(), *TEMPLATES_SCHEMA.values()]
            self._write([(sql, {}) for sql in schema])
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        except OSError as exc:
            raise ConfigError(f"TUBEQ_RESULTS_PATH: cannot open {self.path}: {exc}") from exc

    @classmethod
    def from_settings(cls, section: SqliteStoreSettings) -> Self:
        return cls(section.file)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: list[tuple[str, dict[str, Any]]]) -> None:
        """The statements in one ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        self._db.execute(sql, params)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise classify(exc) from exc

    def _read(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(TEMPLATES[name], params).fetchall()
            except sqlite3.Error as exc:
                raise classify(exc) from exc

    def find_template_result(self, video_id: str, analysis_version: str) -> TemplateResult | None:
        params = {"video_id": video_id, "analysis_version": analysis_version}
        rows = self._read("find_template_result", params)
        return result_of_row(rows[0]) if rows else None

    def save_template_result(self, result: TemplateResult) -> None:
        params = {
            "video_id": result.video_id,
            "analysis_version": result.analysis_version,
            "template": result.template,
            "analyzer": result.analyzer,
            "model": result.model,
            "result": _json(result.result),
            "output_schema": _json(result.output_schema),
            **result.usage.model_dump(),
            "created_at": ts(result.created_at),
            "saved_at": now(),
        }
        self._write([(TEMPLATES["save_template_result"], params)])

    def complete_template_result(
        self, video_id: str, analysis_version: str, artifacts: Sequence[ArtifactRef]
    ) -> None:
        params = {
            "video_id": video_id,
            "analysis_version": analysis_version,
            "artifacts": artifacts_json(artifacts),
            "at": now(),
        }
        self._write(
            [
                (TEMPLATES["complete_template_result"], params),
                (TEMPLATES["complete_template_result.artifacts"], params),
            ]
        )

    def template_results(self, video_id: str) -> list[TemplateResult]:
        return [result_of_row(r) for r in self._read("template_results", {"video_id": video_id})]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
