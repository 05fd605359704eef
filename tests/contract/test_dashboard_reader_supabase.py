"""The dashboard readers' contract on the Supabase result store: PostgREST calls functions
only, so it declares neither reader (the dashboard then says throughput is unknown, and
Studio's ``channel_overview`` view lists the channels); the suite checks it says so."""

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
    has_channels: bool = False
    has_activity: bool = False

    def make(self) -> SupabaseResultStore:
        return SupabaseResultStore(self.api.url, service_role_key(), timeout_s=10)


class TestSupabaseDashboardReader(DashboardReaderContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> Iterator[SupabaseHarness]:  # noqa: F811
        with PostgrestStub(pg_dsn) as api:
            yield SupabaseHarness(api)
