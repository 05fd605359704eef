"""The template-results contract on a real PostgreSQL through psycopg (the functions of
``sql/014_templates.sql``), built from settings by the factory. Plus what only the server
has: who may read template results (analysts, through RLS; anon nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.postgres_template_results import PostgresTemplateResults
from shared.factory import build_template_results
from shared.ports import TemplateResults
from shared.settings import Settings
from tests.contract.template_results_contract import VERSION, VID, TemplateResultsContract, result
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services


def rows_in(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


@dataclass
class PostgresTemplateResultsHarness:
    dsn: str
    name: str = "postgres"
    _results: PostgresResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return Settings(results_backend="postgres", database_url=SecretStr(self.dsn))

    @property
    def results(self) -> PostgresResultStore:
        if self._results is None:
            self._results = PostgresResultStore(self.dsn, pool_size=1, timeout_s=20)
        return self._results

    def make(self) -> TemplateResults:
        return build_template_results(self.settings)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return rows_in(self.dsn, sql)

    def close(self) -> None:
        if self._results is not None:
            self._results.close()


class TestPostgresTemplateResults(TemplateResultsContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> Iterator[PostgresTemplateResultsHarness]:  # noqa: F811
        built = PostgresTemplateResultsHarness(pg_dsn)
        yield built
        built.close()


# ---- Postgres only ----------------------------------------------------------------------


def test_only_analysts_read_template_results(pg_dsn: str) -> None:  # noqa: F811
    store = PostgresTemplateResults(pg_dsn)
    try:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [])
    finally:
        store.close()
    with psycopg.connect(pg_dsn, autocommit=False) as conn:
        conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from video_chapters").fetchone() == (0,)
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            ['{"app_metadata": {"role": "analyst"}}'],
        )
        assert conn.execute("select count(*) from video_chapters").fetchone() == (2,)
        conn.rollback()
        conn.execute("set local role anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from template_results")
