"""The result-store contract through supabase-py, against the PostgREST stub on a real
PostgreSQL that runs the same SQL functions (as tests/integration/test_supabase_results.py
does for what only Supabase has)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.adapters.supabase_results import SupabaseResultStore
from shared.results_common import CHUNK, STATES_CHUNK
from tests.contract.consumer_registry_contract import ConsumerRegistryContract
from tests.contract.result_store_contract import Backend, CountRows, ResultStoreContract
from tests.contract.test_result_store_postgres import count_rows_in
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services


class TestSupabaseResultStore(ResultStoreContract, ConsumerRegistryContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return Backend(name="supabase", ids_per_call=STATES_CHUNK, page_size=CHUNK)

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
        return count_rows_in(pg_dsn)
