"""The Gemini batches on the SQLite result store (``BatchStore``, issue 12): the batch section
of ``sql/queries/sqlite.sql``, kept apart from ``sqlite_results`` so the store's own module
stays about the per-video ports. ``SqliteResultStore`` takes these methods from
``SqliteBatchStore``, which runs them on the store's connection under the store's lock.

A video is added to the open batch of its analysis version (a new one when none is open,
sealed once full), never twice: a video already in a live batch, or whose reply was already
saved, gets no second request.
"""

from __future__ import annotations

import sqlite3
import threading

from shared.adapters._sqlite_batch_rows import batch_item_of, batch_record_of
from shared.adapters._sqlite_results_rows import now
from shared.adapters._sqlite_results_txn import Txn, run_one
from shared.gemini.batch_models import LIVE_STATES, BatchItem, BatchRecord, BatchState, ItemState
from shared.results_common import check_batch_add
from shared.sql_queries import Queries, load

SQLITE: Queries = load("sqlite.sql")


class SqliteBatchStore:
    """``BatchStore`` for a class that opens ``_db`` and guards it with ``_lock``."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def batch_add(
        self, item: BatchItem, new_batch_id: str, max_items: int
    ) -> tuple[BatchRecord, bool]:
        check_batch_add(item, new_batch_id)  # the rule Postgres and Supabase keep too
        key = {"video_id": item.video_id, "analysis_version": item.analysis_version}
        at = now()
        with Txn(self._db, self._lock) as db:
            known = db.execute(SQLITE["batch_add.item"], key).fetchone()
            if known is not None and (
                known["state"] == ItemState.SAVED
                or (known["state"] == ItemState.PENDING and known["batch_state"] in LIVE_STATES)
            ):
                # already in a live batch, or already paid for: never a second request
                batch = db.execute(SQLITE["batch_get"], {"batch_id": known["batch_id"]})
                return batch_record_of(batch.fetchone()), False
            row = db.execute(SQLITE["batch_add.open_batch"], key).fetchone()
            batch_id = row["batch_id"] if row is not None else new_batch_id
            if row is None:
                db.execute(SQLITE["batch_add.new_batch"], key | {"batch_id": batch_id, "at": at})
            params = key | {"batch_id": batch_id, "at": at, "max_items": max_items}
            db.execute(
                SQLITE["batch_add.upsert_item"],
                params | {"prompt": item.prompt, "job": item.job, "language": item.language},
            )
            db.execute(SQLITE["batch_add.count"], params)
            db.execute(SQLITE["batch_add.seal_full"], params)
            record = db.execute(SQLITE["batch_get"], {"batch_id": batch_id}).fetchone()
            return batch_record_of(record), True

    def batch_seal(self, batch_id: str) -> BatchRecord | None:
        run_one(self._db, self._lock, SQLITE["batch_seal"], {"batch_id": batch_id, "at": now()})
        return self.batch_get(batch_id)

    def batch_get(self, batch_id: str) -> BatchRecord | None:
        rows = run_one(self._db, self._lock, SQLITE["batch_get"], {"batch_id": batch_id})
        return batch_record_of(rows[0]) if rows else None

    def batch_update(
        self,
        batch_id: str,
        state: BatchState,
        *,
        remote_name: str | None = None,
        poll_chain: str | None = None,
        error: str | None = None,
    ) -> None:
        params = {
            "batch_id": batch_id,
            "state": state.value,
            "remote_name": remote_name,
            "poll_chain": poll_chain,
            "error": error,
            "at": now(),
        }
        run_one(self._db, self._lock, SQLITE["batch_update"], params)

    def batch_items(self, batch_id: str) -> list[BatchItem]:
        rows = run_one(self._db, self._lock, SQLITE["batch_items"], {"batch_id": batch_id})
        return [batch_item_of(r) for r in rows]

    def batch_item_settle(
        self, batch_id: str, video_id: str, state: ItemState, error: str | None = None
    ) -> None:
        params = {"batch_id": batch_id, "video_id": video_id, "state": state.value}
        settle = params | {"error": error, "at": now()}
        run_one(self._db, self._lock, SQLITE["batch_item_settle"], settle)

    def batch_list(self, limit: int = 50) -> list[BatchRecord]:
        rows = run_one(self._db, self._lock, SQLITE["batch_list"], {"limit": limit})
        return [batch_record_of(r) for r in rows]
