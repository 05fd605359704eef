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
