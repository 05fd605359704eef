"""The vector-index contract through supabase-py, against the PostgREST stub on a real
PostgreSQL with pgvector (the functions of ``sql/015_embeddings.sql`` over
``POST /rest/v1/rpc/…``, run as service_role with grants and RLS as on Supabase); the
result store under it written over the same stub. Built from settings by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from shared.adapters.supabase_results import SupabaseResultStore
from shared.factory import build_vectors
from shared.ports import VectorIndex
from shared.settings import Settings
from tests.contract.vector_index_contract import VectorIndexContract
from tests.support.postgres import pgvector_cluster, pgvector_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services


@dataclass
class SupabaseVectorHarness:
    stub: PostgrestStub
    name: str = "supabase"
    _writer: SupabaseResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return self.stub.settings()

    @property
    def writer(self) -> SupabaseResultStore:
        if self._writer is None:
            self._writer = SupabaseResultStore(self.stub.url, service_role_key(), timeout_s=20)
        return self._writer

    def make(self) -> VectorIndex:
        return build_vectors(self.settings)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class TestSupabaseVectors(VectorIndexContract):
    @pytest.fixture
    def harness(self, pgvector_dsn: str) -> Iterator[SupabaseVectorHarness]:  # noqa: F811
        with PostgrestStub(pgvector_dsn) as stub:
            built = SupabaseVectorHarness(stub)
            yield built
            built.close()
