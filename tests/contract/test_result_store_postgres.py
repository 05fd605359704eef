"""The result-store contract against real PostgreSQL: directly through psycopg, and
through supabase-py against a PostgREST-shaped stub that runs the same SQL functions."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.supabase_results import SupabaseResultStore
from tests.contract.result_store_contract import CountRows, ResultStoreContract
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services

_TABLES = {"videos", "transcripts", "analyses", "artifacts", "failures", "channels"}


def _counter(dsn: str) -> CountRows:
    def count(table: str) -> int:
        assert table in _TABLES, f"unknown table {table}"
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])

    return count


class TestPostgresResultStore(ResultStoreContract):
    @pytest.fixture
    def store(self, pg_dsn: str) -> Iterator[PostgresResultStore]:  # noqa: F811
        s = PostgresResultStore(pg_dsn, pool_size=2, timeout_s=10)
        yield s
        s.close()

    @pytest.fixture
    def count_rows(self, pg_dsn: str) -> CountRows:  # noqa: F811
        return _counter(pg_dsn)


class TestSupabaseResultStore(ResultStoreContract):
    @pytest.fixture
    def stub(self, pg_dsn: str) -> Iterator[PostgrestStub]:  # noqa: F811
        with PostgrestStub(pg_dsn) as server:
            yield server

    @pytest.fixture
    def store(self, stub: PostgrestStub) -> Iterator[SupabaseResultStore]:
        s = SupabaseResultStore(stub.url, service_role_key(), timeout_s=10)
        yield s
        s.close()

    @pytest.fixture
    def count_rows(self, pg_dsn: str) -> CountRows:  # noqa: F811
        return _counter(pg_dsn)
