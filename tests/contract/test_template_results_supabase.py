"""The template-results contract through supabase-py, against the PostgREST stub on a real
PostgreSQL (the functions of ``sql/014_templates.sql`` over ``POST /rest/v1/rpc/…``, run as
service_role), the result store under it written over the same stub; built from settings
by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.adapters.supabase_results import SupabaseResultStore
from shared.factory import build_template_results
from shared.ports import TemplateResults
from shared.settings import Settings
from tests.contract.template_results_contract import TemplateResultsContract
from tests.contract.test_template_results_postgres import rows_in
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services


@dataclass
class SupabaseTemplateResultsHarness:
    stub: PostgrestStub
    dsn: str
    name: str = "supabase"
    _results: SupabaseResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return self.stub.settings()

    @property
    def results(self) -> SupabaseResultStore:
        if self._results is None:
            self._results = SupabaseResultStore(self.stub.url, service_role_key(), timeout_s=20)
        return self._results

    def make(self) -> TemplateResults:
        return build_template_results(self.settings)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return rows_in(self.dsn, sql)

    def close(self) -> None:
        if self._results is not None:
            self._results.close()


class TestSupabaseTemplateResults(TemplateResultsContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> Iterator[SupabaseTemplateResultsHarness]:  # noqa: F811
        with PostgrestStub(pg_dsn) as stub:
            built = SupabaseTemplateResultsHarness(stub, pg_dsn)
            yield built
            built.close()
