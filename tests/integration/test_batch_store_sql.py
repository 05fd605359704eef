"""The batch store's SQL on a real PostgreSQL (``sql/010_batches.sql``): who may read and
write batches (as every table: service_role writes, analysts read, anon nothing) and the
rules' edge cases, through ``PostgresResultStore``."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared.adapters.postgres_results import PostgresResultStore
from shared.gemini.batch_models import BatchItem, BatchState, ItemState
from tests.integration.test_sql_schema import ANALYST, as_analyst, as_role
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services
V1 = "gemini:test-model:p1"


@pytest.fixture
def batches(pg_dsn: str) -> Iterator[PostgresResultStore]:  # noqa: F811
    store = PostgresResultStore(pg_dsn, pool_size=8, timeout_s=10)
    yield store
    store.close()


def item(n: int) -> BatchItem:
    return BatchItem(
        batch_id="",
        video_id=f"vid{n:08d}",
        analysis_version=V1,
        state=ItemState.PENDING,
        prompt=f"transcript {n}",
        job=f'{{"video_id": "vid{n:08d}"}}',
        language="en",
    )


def test_adds_fill_one_open_batch_seal_it_when_full_and_never_add_twice(
    batches: PostgresResultStore,
) -> None:
    first, added = batches.batch_add(item(1), "b1", 3)
    assert added and (first.batch_id, first.state, first.opened_by) == ("b1", "open", "vid00000001")
    again, added = batches.batch_add(item(1), "ignored", 3)
    assert not added and (again.batch_id, again.items) == ("b1", 1)
    batches.batch_add(item(2), "ignored", 3)
    full, _ = batches.batch_add(item(3), "ignored", 3)
    assert (full.state, full.items, full.sealed_by) == (BatchState.SEALED, 3, "vid00000003")
    nxt, _ = batches.batch_add(item(4), "b2", 3)
    assert (nxt.batch_id, nxt.state) == ("b2", BatchState.OPEN)
    # the job comes back as the JSON text it went in as
    assert batches.batch_items("b1")[0].job == '{"video_id": "vid00000001"}'
    batches.batch_update("b1", BatchState.EXPIRED, remote_name="batches/x", error="expired")
    batches.batch_item_settle("b1", "vid00000002", ItemState.REQUEUED, "batch expired")
    # a requeued video goes into the open batch; its try is counted
    moved, added = batches.batch_add(item(2), "ignored", 3)
    assert added and moved.batch_id == "b2"
    (two,) = [i for i in batches.batch_items("b2") if i.video_id == "vid00000002"]
    assert two.tries == 2
    ended = batches.batch_get("b1")
    assert ended is not None and ended.ended_at and ended.remote_name == "batches/x"
    assert [b.batch_id for b in batches.batch_list()] == ["b2", "b1"]
    assert batches.batch_get("nosuch") is None and batches.batch_seal("nosuch") is None


def test_concurrent_adds_make_one_open_batch_of_every_video(batches: PostgresResultStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: batches.batch_add(item(n), f"new{n}", 1000), range(40)))
    (only,) = batches.batch_list()
    assert (only.state, only.items) == (BatchState.OPEN, 40)
    assert len(batches.batch_items(only.batch_id)) == 40


def test_service_role_writes_analysts_read_anon_gets_nothing(
    batches: PostgresResultStore,
    pg_dsn: str,  # noqa: F811
) -> None:
    batches.batch_add(item(1), "b1", 10)
    with psycopg.connect(pg_dsn, autocommit=True) as db:
        add: dict[str, Any] = {
            "item": {"video_id": "vid2", "analysis_version": V1, "prompt": "p", "job": "{}"}
        }
        add |= {"new_batch_id": "b9", "max_items": 10}
        as_role(db, "service_role", "SELECT tubeq_batch_add(%s)", Jsonb(add))  # rolled back
        assert as_analyst(db, "SELECT count(*) FROM batches") == [(1,)]
        assert as_analyst(db, "SELECT count(*) FROM batch_items") == [(1,)]
        stranger: dict[str, Any] = {"role": "authenticated", "sub": "someone"}
        for table in ("batches", "batch_items"):
            assert as_role(
                db, "authenticated", f"SELECT count(*) FROM {table}", claims=stranger
            ) == [(0,)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(db, "anon", f"SELECT * FROM {table}")
        for call in ("SELECT tubeq_batch_add(%s)", "SELECT tubeq_batch_update(%s)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(db, "authenticated", call, Jsonb(add), claims=ANALYST)
