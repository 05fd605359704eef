"""The dashboard readers' contract on the Supabase result store: the real supabase-py
client through the PostgREST stub to the functions of sql/019 (PostgREST calls functions
only; before 019 this store offered neither reader)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.adapters.supabase_results import SupabaseResultStore
from tests.contract.dashboard_reader_contract import DashboardReaderContract
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services


@dataclass
class SupabaseHarness:
    api: PostgrestStub
    has_channels: bool = True
    has_activity: bool = True

    def make(self) -> SupabaseResultStore:
        return SupabaseResultStore(self.api.url, service_role_key(), timeout_s=10)


class TestSupabaseDashboardReader(DashboardReaderContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> Iterator[SupabaseHarness]:  # noqa: F811
        with PostgrestStub(pg_dsn) as api:
            yield SupabaseHarness(api)
