"""The vector-index contract on the embedded store: sqlite-vec in a vector file beside the
SQLite result store, built from settings by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.factory import build_vectors
from shared.ports import VectorIndex
from shared.settings import Settings
from tests.contract.vector_index_contract import VectorIndexContract


@dataclass
class SqliteVectorHarness:
    folder: Path
    name: str = "sqlite"
    _writer: SqliteResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return Settings(
            results_backend="sqlite",
            results_path=self.folder / "results.sqlite3",
            vectors_path=self.folder / "vectors.sqlite3",
        )

    @property
    def writer(self) -> SqliteResultStore:
        if self._writer is None:
            self._writer = SqliteResultStore(self.settings.results_file)
        return self._writer

    def make(self) -> VectorIndex:
        _ = self.writer  # the result file exists before the index opens it
        return build_vectors(self.settings)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class TestSqliteVectors(VectorIndexContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SqliteVectorHarness]:
        built = SqliteVectorHarness(tmp_path)
        yield built
        built.close()
