"""The dashboard readers' contract on the Postgres result store (real PostgreSQL, migrated)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.adapters.postgres_results import PostgresResultStore
from tests.contract.dashboard_reader_contract import DashboardReaderContract
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services


@dataclass
class PostgresHarness:
    dsn: str
    has_channels: bool = True
    has_activity: bool = True

    def make(self) -> PostgresResultStore:
        return PostgresResultStore(self.dsn, pool_size=2, timeout_s=10)


class TestPostgresDashboardReader(DashboardReaderContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> PostgresHarness:  # noqa: F811
        return PostgresHarness(pg_dsn)
