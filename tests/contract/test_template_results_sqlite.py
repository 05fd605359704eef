"""The template-results contract on the SQLite result store's own file (``template_results``
and its typed views, ``sql/queries/sqlite_templates*.sql``), built from settings by the
factory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.factory import build_template_results
from shared.ports import TemplateResults
from shared.settings import Settings
from tests.contract.template_results_contract import TemplateResultsContract


@dataclass
class SqliteTemplateResultsHarness:
    folder: Path
    name: str = "sqlite"
    _results: SqliteResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return Settings(results_backend="sqlite", results_path=self.folder / "results.sqlite3")

    @property
    def results(self) -> SqliteResultStore:
        if self._results is None:
            self._results = SqliteResultStore(self.settings.results_file)
        return self._results

    def make(self) -> TemplateResults:
        return build_template_results(self.settings)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.settings.results_file)
        try:
            return [tuple(r) for r in db.execute(sql).fetchall()]
        finally:
            db.close()

    def close(self) -> None:
        if self._results is not None:
            self._results.close()


class TestSqliteTemplateResults(TemplateResultsContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SqliteTemplateResultsHarness]:
        built = SqliteTemplateResultsHarness(tmp_path)
        yield built
        built.close()
