"""The batch-store contract through supabase-py, against the PostgREST stub on a real
PostgreSQL (the functions of ``sql/010_batches.sql`` over ``POST /rest/v1/rpc/…``, run as
service_role), built from settings by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.factory import build_batch_store
from shared.ports import BatchStore
from tests.contract.batch_store_contract import BatchStoreContract
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub

pytestmark = pytest.mark.services


@dataclass
class SupabaseBatchHarness:
    stub: PostgrestStub

    def make(self) -> BatchStore:
        settings = self.stub.settings()
        return build_batch_store(settings)


class TestSupabaseBatchStore(BatchStoreContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> Iterator[SupabaseBatchHarness]:  # noqa: F811
        with PostgrestStub(pg_dsn) as stub:
            yield SupabaseBatchHarness(stub)
