"""The SQLite result store: the shared contract, plus what only a file database has
(threads and processes on one file, reopening, a bad path)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import ConfigError, UpstreamUnavailable
from shared.settings import Settings
from tests.contract.consumer_registry_contract import ConsumerRegistryContract
from tests.contract.result_store_contract import Backend, CountRows, ResultStoreContract
from tests.support import factories as f

REPO = Path(__file__).resolve().parents[2]


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        (n,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # table names are ours
    return int(n)


class TestSqliteResultStore(ResultStoreContract, ConsumerRegistryContract):
    @pytest.fixture
    def backend(self) -> Backend:
        # ids travel as one JSON array and one read returns a channel: no chunks, no pages
        return Backend(name="sqlite", ids_per_call=None, page_size=None)

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteResultStore]:
        s = SqliteResultStore(tmp_path / "results.sqlite3")
        yield s
        s.close()

    @pytest.fixture
    def count_rows(self, store: SqliteResultStore) -> CountRows:
        return lambda table: _count(store.path, table)


def test_from_settings_uses_results_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = SqliteResultStore.from_settings(settings.sqlite_store)
    try:
        assert store.path == tmp_path / "data" / "results.sqlite3"
        assert store.path.is_file()
    finally:
        store.close()


def test_wal_mode_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    store = SqliteResultStore(path)
    result = f.result(n=1)
    store.record_success(result)
    store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = SqliteResultStore(path)
    try:
        status = reopened.get_video(f.video_id(1))
        assert status is not None
        assert status.analysis == result.analysis
    finally:
        reopened.close()


def test_a_folder_as_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TUBEQ_RESULTS_PATH"):
        SqliteResultStore(tmp_path)


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SqliteResultStore(tmp_path / "r.sqlite3")
    try:
        # a second store on the file holds the write lock; ours must give up cleanly
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        store._db.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(UpstreamUnavailable, match="busy") as info:
            store.record_success(f.result(n=1))
        assert info.value.code == "store_unavailable"  # an outage: handed back, no attempt spent
        blocker.execute("ROLLBACK")
        blocker.close()
        assert store.get_video(f.video_id(1)) is None
        store.record_success(f.result(n=1))  # the store is usable afterwards
        assert store.is_done(f.video_id(1), "gemini:test-model:p1")
    finally:
        store.close()


def test_many_threads_share_one_store(tmp_path: Path) -> None:
    store = SqliteResultStore(tmp_path / "r.sqlite3")
    try:

        def work(i: int) -> None:
            vid = f.video_id(i)
            store.save_analysis(f.analysis(vid))
            store.record_success(f.result(vid))
            assert store.is_done(vid, "gemini:test-model:p1")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(40)))
        assert store.progress().by_state["done"] == 40
        assert _count(store.path, "analyses") == 40
    finally:
        store.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from shared.adapters.sqlite_results import SqliteResultStore
    from tests.support import factories as f

    store = SqliteResultStore(Path(sys.argv[1]))
    first = int(sys.argv[2])
    for i in range(first, first + 15):
        # both processes write the shared video 0 as well: upserts, never duplicates
        for vid in (f.video_id(i), f.video_id(0)):
            store.record_success(f.result(vid))
    store.close()
    """
)


def test_several_processes_write_one_file(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    SqliteResultStore(path).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(first)], cwd=REPO)
        for first in (1, 100)
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    assert _count(path, "videos") == 31
    assert _count(path, "analyses") == 31
    assert _count(path, "transcripts") == 31
