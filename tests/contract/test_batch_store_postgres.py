"""The batch-store contract on a real PostgreSQL through psycopg (the functions of
``sql/010_batches.sql``), built from settings by the factory. Plus what only the server has:
who may read and write batches (service_role writes, analysts read, anon nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from shared.factory import build_batch_store
from shared.ports import BatchStore
from shared.settings import Settings
from tests.contract.batch_store_contract import V1, BatchStoreContract, item
from tests.integration.test_sql_schema import ANALYST, as_analyst, as_role
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services


@dataclass
class PostgresBatchHarness:
    dsn: str

    def make(self) -> BatchStore:
        settings = Settings(
            results_backend="postgres", database_url=SecretStr(self.dsn), database_pool_size=8
        )
        return build_batch_store(settings)


class TestPostgresBatchStore(BatchStoreContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> PostgresBatchHarness:  # noqa: F811
        return PostgresBatchHarness(pg_dsn)


# ---- Postgres only ----------------------------------------------------------------------


def test_service_role_writes_analysts_read_anon_gets_nothing(pg_dsn: str) -> None:  # noqa: F811
    batches = PostgresBatchHarness(pg_dsn).make()
    try:
        batches.batch_add(item(1), "b1", 10)
    finally:
        batches.close()
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
