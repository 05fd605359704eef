"""The result-store contract against real PostgreSQL, directly through psycopg (the
Supabase adapter runs the same suite in test_result_store_supabase.py)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from shared.adapters.postgres_results import PostgresResultStore
from shared.results_common import CHUNK, STATES_CHUNK
from tests.contract.consumer_registry_contract import ConsumerRegistryContract
from tests.contract.result_store_contract import Backend, CountRows, ResultStoreContract
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services

_TABLES = {"videos", "transcripts", "analyses", "artifacts", "failures", "channels", "claims"}


def count_rows_in(dsn: str) -> CountRows:
    def count(table: str) -> int:
        assert table in _TABLES, f"unknown table {table}"
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])

    return count


class TestPostgresResultStore(ResultStoreContract, ConsumerRegistryContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return Backend(name="postgres", ids_per_call=STATES_CHUNK, page_size=CHUNK)

    @pytest.fixture
    def store(self, pg_dsn: str) -> Iterator[PostgresResultStore]:  # noqa: F811
        s = PostgresResultStore(pg_dsn, pool_size=2, timeout_s=10)
        yield s
        s.close()

    @pytest.fixture
    def count_rows(self, pg_dsn: str) -> CountRows:  # noqa: F811
        return count_rows_in(pg_dsn)
