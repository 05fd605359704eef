"""PostgresResultStore against a real PostgreSQL: what the contract does not cover —
configuration, error classification, timeouts, lost connections, threads."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from pydantic import SecretStr

from shared.adapters.postgres_results import PostgresResultStore
from shared.errors import ConfigError, PermanentError, TransientError, UpstreamUnavailable
from shared.settings import Settings
from tests.support import factories as f
from tests.support.postgres import PgCluster, pg_cluster, pg_dsn  # noqa: F401
from tests.support.services import free_port

pytestmark = pytest.mark.services
V1 = "gemini:test-model:p1"


@pytest.fixture
def store(pg_dsn: str) -> Iterator[PostgresResultStore]:  # noqa: F811
    s = PostgresResultStore(pg_dsn, pool_size=2, timeout_s=5)
    yield s
    s.close()


def test_from_settings(pg_dsn: str) -> None:  # noqa: F811
    settings = Settings(
        results_backend="postgres", database_url=SecretStr(pg_dsn), database_pool_size=3
    )
    s = PostgresResultStore.from_settings(settings)
    try:
        s.record_success(f.result(n=1))
        assert s.is_done(f.video_id(1), V1)
    finally:
        s.close()
    with pytest.raises(ConfigError, match="TUBEQ_DATABASE_URL"):
        PostgresResultStore.from_settings(Settings())


def test_unmigrated_database_is_a_permanent_error_that_says_what_to_do(
    pg_cluster: PgCluster,  # noqa: F811
) -> None:
    name = pg_cluster.create_database(template="template0")
    s = PostgresResultStore(pg_cluster.dsn(name), pool_size=1, timeout_s=5)
    try:
        with pytest.raises(PermanentError, match="tubeq db migrate") as info:
            s.record_success(f.result(n=1))
        assert "42883" in info.value.message
    finally:
        s.close()
        pg_cluster.drop_database(name)


def test_a_blocked_write_times_out_as_transient(pg_dsn: str) -> None:  # noqa: F811
    s = PostgresResultStore(pg_dsn, pool_size=1, timeout_s=0.3)
    s.record_success(f.result(n=1))
    try:
        with psycopg.connect(pg_dsn) as blocker:  # holds the video's row lock
            blocker.execute("SELECT 1 FROM videos WHERE video_id = %s FOR UPDATE", (f.video_id(1),))
            with pytest.raises(UpstreamUnavailable, match="57014"):
                s.record_success(f.result(n=1, attempts=2))
        s.record_success(f.result(n=1, attempts=2))  # lock gone: works, same connection pool
        status = s.get_video(f.video_id(1))
        assert status is not None and status.attempts == 2
    finally:
        s.close()


def test_a_dropped_idle_connection_is_replaced(pg_dsn: str, store: PostgresResultStore) -> None:  # noqa: F811
    store.record_success(f.result(n=1))
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'tubeq' AND pid <> pg_backend_pid()"
        )
    assert store.is_done(f.video_id(1), V1)  # retried once on a fresh connection


def test_no_server_is_transient_and_the_password_stays_secret() -> None:
    dsn = f"postgresql://tubeq:s3cret-pw@127.0.0.1:{free_port()}/tubeq"
    s = PostgresResultStore(dsn, pool_size=1, timeout_s=2)
    try:
        with pytest.raises(TransientError) as info:
            s.progress()
        assert "s3cret-pw" not in str(info.value)
    finally:
        s.close()


def test_bad_payload_is_permanent(store: PostgresResultStore) -> None:
    with pytest.raises(PermanentError, match="failure state"):
        store.call("tubeq_record_failure", psycopg.types.json.Jsonb({"video_id": f.video_id(1)}))


def test_many_threads_share_a_small_pool(store: PostgresResultStore) -> None:
    def work(i: int) -> None:
        vid = f.video_id(i)
        store.save_analysis(f.analysis(vid))
        store.record_success(f.result(vid))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(work, range(30)))
    assert store.progress().by_state["done"] == 30
    assert store.done_ids([f.video_id(i) for i in range(30)], V1) == {
        f.video_id(i) for i in range(30)
    }


def test_channel_results_pages_through_many_videos(store: PostgresResultStore) -> None:
    from shared.adapters import postgres_results

    count = postgres_results.CHUNK + 5
    for i in range(count):
        store.record_success(f.result(f.video_id(i), video=f.meta(f.video_id(i), n=i % 7 + 1)))
    rows = list(store.channel_results(f.CHANNEL_ID))
    assert len(rows) == count
    assert len({r.video_id for r in rows}) == count
    keys = [(r.meta.published_at, r.video_id) for r in rows if r.meta and r.meta.published_at]
    assert keys == sorted(keys)


def test_closed_store_says_so(pg_dsn: str) -> None:  # noqa: F811
    s = PostgresResultStore(pg_dsn, pool_size=1)
    s.close()
    with pytest.raises(ConfigError, match="closed"):
        s.progress()
