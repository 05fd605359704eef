"""The batch-store contract on the SQLite result store (``batches``, ``batch_items``), built
from settings by the factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.factory import build_batch_store
from shared.ports import BatchStore
from shared.settings import Settings
from tests.contract.batch_store_contract import BatchStoreContract


@dataclass
class SqliteBatchHarness:
    folder: Path

    def make(self) -> BatchStore:
        settings = Settings(results_backend="sqlite", results_path=self.folder / "results.sqlite3")
        return build_batch_store(settings)


class TestSqliteBatchStore(BatchStoreContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SqliteBatchHarness:
        return SqliteBatchHarness(tmp_path)

    # Known faults of this adapter, found by the contract (the assertions are the
    # contract's own; strict: the marker must go when the adapter is fixed).
    @pytest.mark.xfail(
        strict=True,
        reason="known fault: SqliteResultStore.batch_add keeps a batch with an empty id, an "
        "item with an empty video id and a job that is not JSON (sql/010_batches.sql refuses "
        "all three on Postgres and Supabase)",
    )
    def test_a_bad_item_is_refused_and_nothing_is_kept(self, store: BatchStore) -> None:
        super().test_a_bad_item_is_refused_and_nothing_is_kept(store)

    @pytest.mark.xfail(
        strict=True,
        reason="known fault: SqliteResultStore.batch_list(-1) lists every batch (SQLite reads "
        "LIMIT -1 as no limit); the Postgres and Supabase stores list none",
    )
    def test_a_negative_limit_lists_nothing(self, store: BatchStore) -> None:
        super().test_a_negative_limit_lists_nothing(store)
