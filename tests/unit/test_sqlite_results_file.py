"""Every adapter on the SQLite result store's file refuses a bad path the same way, saying
what to do (one rule: ``shared/adapters/_sqlite_results_file.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.sqlite_search import SqliteSearch
from shared.adapters.sqlite_template_results import SqliteTemplateResults
from shared.adapters.sqlite_vectors import SqliteVectors
from shared.errors import ConfigError

WRITERS: list[Callable[[Path], Any]] = [SqliteResultStore, SqliteTemplateResults]
READERS: list[Callable[[Path], Any]] = [
    SqliteSearch,
    lambda path: SqliteVectors(path, path.parent / "vectors.sqlite3"),
]


@pytest.mark.parametrize("open_store", WRITERS + READERS)
def test_a_folder_is_refused_with_a_file_path_to_give(
    tmp_path: Path, open_store: Callable[[Path], Any]
) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(tmp_path)
    message = str(info.value)
    assert "TUBEQ_RESULTS_PATH" in message and "is a folder" in message
    assert str(tmp_path / "results.sqlite3") in message


@pytest.mark.parametrize("open_store", READERS)
def test_a_reader_with_no_store_says_to_analyse_first_and_creates_nothing(
    tmp_path: Path, open_store: Callable[[Path], Any]
) -> None:
    missing = tmp_path / "not-yet" / "results.sqlite3"
    with pytest.raises(ConfigError, match=r"no result store at .*tubeq demo"):
        open_store(missing)
    assert not missing.parent.exists()


@pytest.mark.parametrize("open_store", WRITERS)
def test_a_writer_makes_the_store_and_its_folder(
    tmp_path: Path, open_store: Callable[[Path], Any]
) -> None:
    path = tmp_path / "new" / "results.sqlite3"
    open_store(path).close()
    assert path.is_file()
