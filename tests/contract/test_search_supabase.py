"""The search contract through supabase-py, against the PostgREST stub on a real PostgreSQL
(``POST /rest/v1/rpc/tubeq_search_segments``, run as the role of the key, grants and RLS as
on Supabase); the samples recorded and re-recorded by the Supabase result store over the
same stub. Plus what only Supabase has: the request's shape, and the public key's refusal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from shared.adapters.supabase_results import SupabaseResultStore
from shared.adapters.supabase_search import SupabaseSearch
from shared.errors import AccessDenied
from shared.search import SearchQuery
from shared.settings import Settings
from tests.contract.search_contract import PHRASE, SearchContract
from tests.contract.test_search_postgres import samples_dsn  # noqa: F401
from tests.support.postgres import PgCluster, pg_cluster  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, anon_key, service_role_key

pytestmark = pytest.mark.services


@dataclass
class SupabaseSearchHarness:
    cluster: PgCluster
    stub: PostgrestStub
    name: str = "supabase"
    stems_by_language: bool = True
    folds_diacritics: bool = False
    _writer: SupabaseResultStore | None = field(default=None, init=False)
    _empty: list[tuple[str, PostgrestStub]] = field(default_factory=list, init=False)

    @property
    def settings(self) -> Settings:
        return self.stub.settings()

    @property
    def writer(self) -> SupabaseResultStore:
        if self._writer is None:
            self._writer = SupabaseResultStore(self.stub.url, service_role_key(), timeout_s=20)
        return self._writer

    def make(self) -> SupabaseSearch:
        return SupabaseSearch(self.stub.url, service_role_key(), timeout_s=20)

    def make_empty(self) -> SupabaseSearch:
        name = self.cluster.create_database()
        stub = PostgrestStub(self.cluster.dsn(name)).start()
        self._empty.append((name, stub))
        return SupabaseSearch(stub.url, service_role_key(), timeout_s=20)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for name, stub in self._empty:
            stub.stop()
            self.cluster.drop_database(name)


@pytest.fixture
def stub(samples_dsn: str) -> Iterator[PostgrestStub]:  # noqa: F811
    with PostgrestStub(samples_dsn) as server:
        yield server


class TestSupabaseSearch(SearchContract):
    @pytest.fixture
    def harness(
        self,
        pg_cluster: PgCluster,  # noqa: F811
        stub: PostgrestStub,
    ) -> Iterator[SupabaseSearchHarness]:
        built = SupabaseSearchHarness(pg_cluster, stub)
        yield built
        built.close()


# ---- Supabase only ----------------------------------------------------------------------


def test_one_rpc_call_with_the_functions_argument_names(stub: PostgrestStub) -> None:
    search = SupabaseSearch(stub.url, service_role_key(), timeout_s=10)
    try:
        assert search.search(SearchQuery(text=f'"{PHRASE}"', language="en"))
    finally:
        search.close()
    (request,) = stub.requests
    assert request.path == "/rest/v1/rpc/tubeq_search_segments"
    assert set(request.body) == {"p_query", "p_channel_id", "p_since", "p_language", "p_limit"}


def test_the_public_key_reads_nothing(stub: PostgrestStub) -> None:
    anon = SupabaseSearch(stub.url, anon_key(), timeout_s=10)
    try:
        with pytest.raises(AccessDenied, match="permission denied for function"):
            anon.search(SearchQuery(text="rook"))
    finally:
        anon.close()
