"""The search contract on the SQLite result store (FTS5, ``sql/queries/sqlite_search*.sql``),
plus what only a file has: a store made before search existed is indexed when opened, and
a missing file says what to do."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.sqlite_search import SqliteSearch
from shared.errors import ConfigError
from shared.search import SearchQuery
from shared.settings import Settings
from tests.contract.search_contract import SearchContract
from tests.support.search_data import fill_with_samples


@pytest.fixture(scope="session")
def samples_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples recorded once by the SQLite result store; each test gets a copy."""
    path = tmp_path_factory.mktemp("search-samples") / "results.sqlite3"
    store = SqliteResultStore(path)
    try:
        fill_with_samples(store)
    finally:
        store.close()  # the last connection: the WAL is checkpointed into the file
    return path


@dataclass
class SqliteSearchHarness:
    folder: Path
    name: str = "sqlite"
    stems_by_language: bool = False  # porter: English rules for every language
    folds_diacritics: bool = True  # unicode61 remove_diacritics 2
    _writer: SqliteResultStore | None = field(default=None, init=False)

    @property
    def path(self) -> Path:
        return self.folder / "results.sqlite3"

    @property
    def settings(self) -> Settings:
        return Settings(results_backend="sqlite", results_path=self.path)

    @property
    def writer(self) -> SqliteResultStore:
        if self._writer is None:
            self._writer = SqliteResultStore(self.path)
        return self._writer

    def make(self) -> SqliteSearch:
        return SqliteSearch(self.path)

    def make_empty(self) -> SqliteSearch:
        empty = self.folder / "empty.sqlite3"
        SqliteResultStore(empty).close()
        return SqliteSearch(empty)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class TestSqliteSearch(SearchContract):
    @pytest.fixture
    def harness(self, samples_file: Path, tmp_path: Path) -> Iterator[SqliteSearchHarness]:
        built = SqliteSearchHarness(tmp_path)
        shutil.copyfile(samples_file, built.path)
        yield built
        built.close()


# ---- SQLite only ------------------------------------------------------------------------


def test_a_store_made_before_search_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteResultStore(path)
    fill_with_samples(store, ("tq-sample01",))
    store.close()
    with sqlite3.connect(path) as db:  # as an older tubeq left it: no index at all
        for name in (
            "transcripts_search_insert",
            "transcripts_search_update",
            "transcripts_search_delete",
        ):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DROP TABLE transcript_segments_fts")
        db.execute("DROP TABLE transcript_segments")
        db.execute("DROP VIEW transcript_segment_rows")
    db.close()
    search = SqliteSearch(path)
    try:
        assert search.search(SearchQuery(text="lentils"))
    finally:
        search.close()


def test_no_store_yet_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tubeq demo"):
        SqliteSearch(tmp_path / "nothing.sqlite3")
