"""The dashboard's overview and channel pages built on each result store that offers the
readers they need: the embedded SQLite file and a real PostgreSQL (migrated). The readers'
own rules (counts, order, ``finished_since``) are the contract suite's
(tests/contract/dashboard_reader_contract.py); this checks the pages put them together."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from producer.dashboard.overview import build_overview
from producer.dashboard.pages import channel_page, list_channels
from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.models import VideoJob, VideoState
from shared.ports import ChannelDirectory
from tests.support import factories as f
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401  (fixtures)

pytestmark = pytest.mark.services


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        made: Any = SqliteResultStore(tmp_path / "results.sqlite3")
    else:
        made = PostgresResultStore(request.getfixturevalue("pg_dsn"), pool_size=2, timeout_s=10)
    yield made
    made.close()


def test_channels_and_pages_on_the_store(store: Any, tmp_path: Path) -> None:
    assert isinstance(store, ChannelDirectory)
    now = datetime.now(UTC)
    for n in (1, 2):
        store.record_success(f.result(n=n, finished_at=now - timedelta(minutes=n)))
    store.record_failure(f.failure(n=3))
    store.mark_queued([VideoJob(video_id=f.video_id(4), meta=f.meta(n=4))])
    (summary,) = list_channels(store) or []
    assert (summary.channel_id, summary.title) == (f.CHANNEL_ID, f.CHANNEL_TITLE)
    # the failure carries no channel (no meta): two done and one queued are the channel's
    assert (summary.videos, summary.analysed, summary.pending) == (3, 2, 1)
    page = channel_page(store, f.CHANNEL_ID)
    assert page is not None and len(page.rows) == 3 and len(page.charts) == 4
    queue = SqliteQueue(tmp_path / "queue.sqlite3")
    try:
        overview = build_overview(queue, store)
    finally:
        queue.close()
    assert overview.by_state[VideoState.DONE.value] == 2
    assert overview.per_minute == pytest.approx(2 / 10)


def test_a_database_not_yet_migrated_to_019_keeps_its_pages_and_says_to_migrate(
    pg_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    import psycopg

    from producer.dashboard.pages import channels_or_why

    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # as a database before sql/019
        conn.execute("drop function tubeq_channels()")
        conn.execute("drop function tubeq_finished_since(timestamptz)")
    store = PostgresResultStore(pg_dsn, pool_size=1, timeout_s=10)
    queue = SqliteQueue(tmp_path / "queue.sqlite3")
    try:
        store.record_success(f.result(n=1))
        channels, why = channels_or_why(store)
        overview = build_overview(queue, store)
    finally:
        queue.close()
        store.close()
    assert channels is None and "tubeq db migrate" in why
    assert overview.by_state[VideoState.DONE.value] == 1  # the rest of the overview stands
    assert overview.per_minute is None
    assert any("throughput unavailable" in n and "tubeq db migrate" in n for n in overview.notes)


def test_channels_sort_alike_on_a_database_with_a_linguistic_collation(
    pg_cluster: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The test cluster's C.UTF-8 already sorts by code point, so the order's COLLATE "C"
    is proved on a database whose default collation is ICU's en-US (as a hosted Postgres's
    often is): there "_x", case and accents would all sort otherwise."""
    import psycopg

    from shared.migrations import connect, migrate
    from tests.contract.dashboard_reader_contract import on_channel

    name = "t_icu_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as admin:
        admin.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    try:
        conn = connect(pg_cluster.dsn(name))
        try:
            migrate(conn)
        finally:
            conn.close()
        titles = ["beta", "Zulu", "_under", "élan", "Émile", "alpha", "Alpha", "ebony"]
        orders = []
        for store in (
            SqliteResultStore(tmp_path / "results.sqlite3"),
            PostgresResultStore(pg_cluster.dsn(name), pool_size=1, timeout_s=10),
        ):
            try:
                for n, title in enumerate(titles, start=1):
                    channel = f"UC{n:022d}"
                    store.record_success(f.result(n=n, video=on_channel(n, channel, title)))
                orders.append([c.title for c in store.channels()])
            finally:
                store.close()
        sqlite_order, icu_order = orders
        assert icu_order == sqlite_order
        # A-Z folded, code-point order, ties by id ("alpha" was recorded before "Alpha")
        expected = ["_under", "alpha", "Alpha", "beta", "ebony", "Zulu", "Émile", "élan"]
        assert sqlite_order == expected
    finally:
        pg_cluster.drop_database(name)
