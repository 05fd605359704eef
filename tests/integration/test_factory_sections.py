"""The factory hands every adapter on the result database its engine's settings section
(``settings.sqlite_store``/``sqlite_vectors``, ``settings.postgres``, ``settings.supabase``),
and those adapters work on it: on the embedded SQLite file, on a real PostgreSQL with
pgvector (a throwaway cluster), and on Supabase's path (the local PostgREST stub over that
PostgreSQL). Built from ``Settings`` alone, as ``tubeq`` builds them; each answers a real
call, so a section that lost a field (a DSN, a timeout, the vector file) fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared import factory
from shared.embeddings import EmbeddingModel
from shared.search import SearchQuery
from shared.settings import Settings
from tests.support.postgres import PgCluster, pgvector_cluster  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key
from tests.support.search_data import fill_with_samples

pytestmark = pytest.mark.services

VIDEO = "tq-sample08"
#: the class the factory must pick on each engine, for each port on the result database
CLASSES = {
    "sqlite": ("SqliteResultStore", "SqliteSearch", "SqliteVectors", "SqliteTemplateResults"),
    "postgres": (
        "PostgresResultStore",
        "PostgresSearch",
        "PostgresVectors",
        "PostgresTemplateResults",
    ),
    "supabase": (
        "SupabaseResultStore",
        "SupabaseSearch",
        "SupabaseVectors",
        "SupabaseTemplateResults",
    ),
}


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one engine, as an operator writes them (nothing but ``TUBEQ_*`` values)."""
    data = tmp_path / "data"
    if request.param == "sqlite":
        yield Settings(data_dir=data, vectors_path=tmp_path / "elsewhere" / "v.sqlite3")
        return
    cluster: PgCluster = request.getfixturevalue("pgvector_cluster")
    name = cluster.create_database()
    dsn = cluster.dsn(name)
    try:
        if request.param == "postgres":
            yield Settings(
                data_dir=data,
                results_backend="postgres",
                database_url=SecretStr(dsn),
                database_pool_size=1,
                database_timeout_s=20,
            )
            return
        with PostgrestStub(dsn) as stub:
            yield Settings(
                data_dir=data,
                results_backend="supabase",
                supabase_url=stub.url,
                supabase_service_role_key=SecretStr(service_role_key()),
                supabase_timeout_s=20,
            )
    finally:
        cluster.drop_database(name)


def test_every_adapter_on_the_result_database_works_on_its_engine_section(
    settings: Settings,
) -> None:
    expected = CLASSES[settings.results_backend]
    store = factory.build_results(settings)
    try:
        assert type(store).__name__ == expected[0]
        fill_with_samples(store, (VIDEO,))
        assert store.progress().total_videos == 1
    finally:
        store.close()

    batches = factory.build_batch_store(settings)
    try:
        assert type(batches).__name__ == expected[0]  # batches live in the result store
        assert batches.batch_get("no-such-batch") is None
    finally:
        batches.close()

    search = factory.build_search(settings)  # embeddings off: full-text only
    try:
        assert type(search.fulltext).__name__ == expected[1] and search.semantic is None
        hits = search.search(SearchQuery(text='"when Ibarra hurried"'))
        assert [h.video_id for h in hits] == [VIDEO]
    finally:
        search.close()

    vectors = factory.build_vectors(settings)
    try:
        assert type(vectors).__name__ == expected[2]
        assert vectors.analysed_videos() == [VIDEO]
        assert vectors.count(EmbeddingModel("gemini-embedding-001", 768)) == 0
    finally:
        vectors.close()
    if settings.results_backend == "sqlite":
        # sqlite-vec's file is TUBEQ_VECTORS_PATH, not one under the data folder
        assert settings.sqlite_vectors.vectors_file.is_file()
        assert not (settings.data_dir / "vectors.sqlite3").exists()

    templates = factory.build_template_results(settings)
    try:
        assert type(templates).__name__ == expected[3]
        assert templates.find_template_result(VIDEO, "no-such-version") is None
        assert templates.template_results(VIDEO) == []
    finally:
        templates.close()
