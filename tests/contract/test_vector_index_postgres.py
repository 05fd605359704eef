"""The vector-index contract on a real PostgreSQL with pgvector (PostgreSQL 16 from the
``pgserver`` wheel of the dev extras): the functions of ``sql/015_embeddings.sql`` through
psycopg, built from settings by the factory. Plus what only Postgres has: a server without
pgvector migrates, and its search says how to enable it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from pydantic import SecretStr

from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.postgres_vectors import PostgresVectors
from shared.errors import ConfigError
from shared.factory import build_vectors
from shared.ports import VectorIndex
from shared.search import SearchQuery
from shared.settings import Settings
from tests.contract.vector_index_contract import MODEL, VectorIndexContract, direction
from tests.support.postgres import pg_cluster, pg_dsn, pgvector_cluster, pgvector_dsn  # noqa: F401

pytestmark = pytest.mark.services


@dataclass
class PostgresVectorHarness:
    dsn: str
    name: str = "postgres"
    _writer: PostgresResultStore | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return Settings(results_backend="postgres", database_url=SecretStr(self.dsn))

    @property
    def writer(self) -> PostgresResultStore:
        if self._writer is None:
            self._writer = PostgresResultStore(self.dsn, pool_size=1, timeout_s=20)
        return self._writer

    def make(self) -> VectorIndex:
        return build_vectors(self.settings)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class TestPostgresVectors(VectorIndexContract):
    @pytest.fixture
    def harness(self, pgvector_dsn: str) -> Iterator[PostgresVectorHarness]:  # noqa: F811
        built = PostgresVectorHarness(pgvector_dsn)
        yield built
        built.close()


# ---- Postgres only ----------------------------------------------------------------------


def test_a_postgres_without_pgvector_migrates_and_says_what_semantic_search_needs(
    pg_dsn: str,  # noqa: F811 - the system's PostgreSQL 15, which has no pgvector
) -> None:
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
        ).fetchone() == (0,)
        applied = conn.execute(
            "SELECT count(*) FROM tubeq_migrations WHERE name = '015_embeddings.sql'"
        ).fetchone()
    assert applied == (1,)
    vectors = PostgresVectors(pg_dsn)
    try:
        assert vectors.count(MODEL) == 0  # the table and its writers work without it
        with pytest.raises(ConfigError) as err:
            vectors.nearest(SearchQuery(text="anything"), direction(0), MODEL)
    finally:
        vectors.close()
    assert "needs the pgvector extension" in err.value.message
    assert "tubeq_enable_vector_search()" in err.value.message


def test_the_hnsw_index_serves_the_default_model(pgvector_dsn: str) -> None:  # noqa: F811
    with psycopg.connect(pgvector_dsn) as conn:
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'passage_embeddings'"
            )
        ]
    assert any("USING hnsw" in d and "vector(768)" in d for d in indexes), indexes
