"""The dashboard readers' contract on the SQLite result store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from tests.contract.dashboard_reader_contract import DashboardReaderContract


@dataclass
class SqliteHarness:
    folder: Path
    has_channels: bool = True
    has_activity: bool = True

    def make(self) -> SqliteResultStore:
        return SqliteResultStore(self.folder / "results.sqlite3")


class TestSqliteDashboardReader(DashboardReaderContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SqliteHarness:
        return SqliteHarness(tmp_path)
