"""The search contract on a real PostgreSQL through psycopg (``tubeq_search_segments`` of
``sql/011_search.sql``): the samples recorded by the Postgres result store once per session
into a database that every test clones as its template."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.postgres_search import PostgresSearch
from shared.settings import Settings
from tests.contract.search_contract import SearchContract
from tests.support.postgres import PgCluster, pg_cluster  # noqa: F401
from tests.support.search_data import fill_with_samples

pytestmark = pytest.mark.services

_samples_lock = threading.Lock()
_samples: dict[int, str] = {}


def samples_database(cluster: PgCluster) -> str:
    """A database of ``cluster`` with the samples recorded, made once (a template: it is
    never opened again, so ``CREATE DATABASE … TEMPLATE`` may copy it)."""
    with _samples_lock:
        if cluster.port not in _samples:
            name = cluster.create_database()
            store = PostgresResultStore(cluster.dsn(name), pool_size=1, timeout_s=60)
            try:
                fill_with_samples(store)
            finally:
                store.close()
            _samples[cluster.port] = name
        return _samples[cluster.port]


@dataclass
class PostgresSearchHarness:
    cluster: PgCluster
    dsn: str
    name: str = "postgres"
    stems_by_language: bool = True  # each transcript's own text-search config
    folds_diacritics: bool = False  # only the stemmers that drop accents (Spanish) fold them
    _writer: PostgresResultStore | None = field(default=None, init=False)
    _databases: list[str] = field(default_factory=list, init=False)

    @property
    def settings(self) -> Settings:
        return Settings(results_backend="postgres", database_url=SecretStr(self.dsn))

    @property
    def writer(self) -> PostgresResultStore:
        if self._writer is None:
            self._writer = PostgresResultStore(self.dsn, pool_size=1, timeout_s=20)
        return self._writer

    def make(self) -> PostgresSearch:
        return PostgresSearch(self.dsn, timeout_s=20)

    def make_empty(self) -> PostgresSearch:
        name = self.cluster.create_database()
        self._databases.append(name)
        return PostgresSearch(self.cluster.dsn(name), timeout_s=20)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for name in self._databases:
            self.cluster.drop_database(name)


@pytest.fixture
def samples_dsn(pg_cluster: PgCluster) -> Iterator[str]:  # noqa: F811
    """A fresh copy of the samples database, dropped after the test."""
    name = pg_cluster.create_database(template=samples_database(pg_cluster))
    try:
        yield pg_cluster.dsn(name)
    finally:
        pg_cluster.drop_database(name)


class TestPostgresSearch(SearchContract):
    @pytest.fixture
    def harness(
        self,
        pg_cluster: PgCluster,  # noqa: F811
        samples_dsn: str,
    ) -> Iterator[PostgresSearchHarness]:
        built = PostgresSearchHarness(pg_cluster, samples_dsn)
        yield built
        built.close()
