"""PostgresResultStore against a real PostgreSQL: what the contract does not cover —
configuration, error classification, timeouts, lost connections, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from shared.adapters.postgres_results import PostgresResultStore
from shared.errors import (
    ConfigError,
    InvalidInput,
    PermanentError,
    TransientError,
    UpstreamUnavailable,
)
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
    s = PostgresResultStore.from_settings(settings.postgres)
    try:
        s.record_success(f.result(n=1))
        assert s.is_done(f.video_id(1), V1)
    finally:
        s.close()
    with pytest.raises(ConfigError, match="TUBEQ_DATABASE_URL"):
        PostgresResultStore.from_settings(Settings().postgres)


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
        store.run("record_failure", failure={"video_id": f.video_id(1)})


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
    from shared.results_common import CHUNK

    count = CHUNK + 5
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


# ---- the analysis claim ----------------------------------------------------------------


def test_claim_analysis_first_wins_owner_renews_expired_is_taken(
    store: PostgresResultStore,
) -> None:
    vid = f.video_id(1)
    assert store.claim_analysis(vid, V1, "consumer-a", 30) == 0.0
    waited = store.claim_analysis(vid, V1, "consumer-b", 30)
    assert 25 < waited <= 30
    assert store.claim_analysis(vid, V1, "consumer-a", 30) == 0.0  # renewing is fine
    assert store.claim_analysis(vid, "other:version", "consumer-b", 30) == 0.0  # own key
    assert store.claim_analysis(vid, V1, "consumer-c", 30) > 0
    # a short claim runs out, and then another owner takes it
    assert store.claim_analysis(f.video_id(2), V1, "consumer-a", 0.2) == 0.0
    assert store.claim_analysis(f.video_id(2), V1, "consumer-b", 30) > 0
    time.sleep(0.3)
    assert store.claim_analysis(f.video_id(2), V1, "consumer-b", 30) == 0.0
    assert store.claim_analysis(f.video_id(2), V1, "consumer-a", 30) > 25


def test_a_claim_of_zero_seconds_releases_only_ones_own_claim(store: PostgresResultStore) -> None:
    vid = f.video_id(1)
    assert store.claim_analysis(vid, V1, "consumer-a", 60) == 0.0
    assert store.claim_analysis(vid, V1, "consumer-b", 0) > 55  # not b's to release
    assert store.claim_analysis(vid, V1, "consumer-a", 0) == 0.0  # a is done with it
    assert store.claim_analysis(vid, V1, "consumer-b", 60) == 0.0  # no wait for b


def test_claim_analysis_refuses_a_bad_ttl(store: PostgresResultStore) -> None:
    for ttl in (-1, -0.001, float("nan"), float("inf"), 8 * 86400):
        with pytest.raises(InvalidInput, match="ttl_s"):
            store.claim_analysis(f.video_id(1), V1, "consumer-a", ttl)
    # the function refuses it too, for callers that skip the Python check
    payload = {"video_id": f.video_id(1), "analysis_version": V1, "owner": "x", "ttl_s": -5}
    with pytest.raises(PermanentError, match="ttl_s"):
        store.run("claim_analysis", claim=payload)


def _claim_sql(conn: psycopg.Connection[Any], owner: str, ttl_s: float = 30) -> float:
    payload = {"video_id": f.video_id(1), "analysis_version": V1, "owner": owner, "ttl_s": ttl_s}
    row = conn.execute(
        "SELECT tubeq_claim_analysis(%s)", (psycopg.types.json.Jsonb(payload),)
    ).fetchone()
    assert row is not None
    return float(row[0])


def test_two_connections_racing_for_a_claim_exactly_one_wins(pg_dsn: str) -> None:  # noqa: F811
    # deterministic interleaving: A has inserted the claim but not committed when B asks;
    # B must wait for A, then see A's claim (newer than B's snapshot) and lose
    with (
        psycopg.connect(pg_dsn) as a,
        psycopg.connect(pg_dsn, autocommit=True) as b,
    ):
        assert _claim_sql(a, "consumer-a") == 0.0  # inside A's open transaction
        with ThreadPoolExecutor(max_workers=1) as pool:
            b_result = pool.submit(_claim_sql, b, "consumer-b")
            time.sleep(0.3)
            assert not b_result.done()  # B waits on A's row
            a.commit()
            assert 25 < b_result.result(timeout=10) <= 30
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT owner FROM claims").fetchall() == [("consumer-a",)]


def test_many_consumers_racing_for_a_claim_exactly_one_wins(pg_dsn: str) -> None:  # noqa: F811
    racers = 8
    start = threading.Barrier(racers)
    stores = [PostgresResultStore(pg_dsn, pool_size=1, timeout_s=10) for _ in range(racers)]

    def race(i: int) -> float:
        stores[i].progress()  # connect before the start line
        start.wait(timeout=10)
        return stores[i].claim_analysis(f.video_id(1), V1, f"consumer-{i}", 30)

    try:
        with ThreadPoolExecutor(max_workers=racers) as pool:
            waits = list(pool.map(race, range(racers)))
    finally:
        for s in stores:
            s.close()
    assert sorted(waits)[0] == 0.0
    assert all(w > 0 for w in sorted(waits)[1:]), waits
    winner = f"consumer-{waits.index(0.0)}"
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT owner FROM claims").fetchall() == [(winner,)]


def test_claims_are_for_the_service_role_only(pg_dsn: str) -> None:  # noqa: F811
    payload = {"video_id": f.video_id(1), "analysis_version": V1, "owner": "x", "ttl_s": 5}
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for role in ("anon", "authenticated"):
            for query in ("SELECT * FROM claims", "SELECT tubeq_claim_analysis(%s)"):
                with conn.transaction(force_rollback=True):
                    conn.execute(f"SET LOCAL ROLE {role}")
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(
                            query, (psycopg.types.json.Jsonb(payload),) if "%s" in query else None
                        )
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL ROLE service_role")
            assert _claim_sql(conn, "x") == 0.0
            assert conn.execute("SELECT count(*) FROM claims").fetchone() == (1,)
