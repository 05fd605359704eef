"""The batch store (``ports.BatchStore``, issue 12) on the SQL functions of
``sql/010_batches.sql``: what the Postgres and the Supabase result stores share, so each
rule's Python side exists once (as ``_function_results`` does for the result ports).

Every method is one named block of ``sql/queries/postgres.sql``; the store says how a block
runs (psycopg, or PostgREST's RPC). The SQLite store runs the same rules from ``sqlite.sql``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.gemini.batch_models import BatchItem, BatchRecord, BatchState, ItemState
from shared.results_common import batch_add_payload


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def batch_record_of(row: dict[str, Any]) -> BatchRecord:
    return BatchRecord(
        batch_id=row["batch_id"],
        analysis_version=row["analysis_version"],
        state=BatchState(row["state"]),
        items=int(row["items"]),
        created_at=_when(row["created_at"]) or datetime.now(UTC),
        updated_at=_when(row["updated_at"]) or datetime.now(UTC),
        remote_name=row.get("remote_name"),
        submitted_at=_when(row.get("submitted_at")),
        ended_at=_when(row.get("ended_at")),
        poll_chain=row.get("poll_chain"),
        opened_by=row.get("opened_by"),
        sealed_by=row.get("sealed_by"),
        error=row.get("error"),
    )


def batch_item_of(row: dict[str, Any]) -> BatchItem:
    job = row["job"]
    return BatchItem(
        batch_id=row["batch_id"],
        video_id=row["video_id"],
        analysis_version=row["analysis_version"],
        state=ItemState(row["state"]),
        prompt=row["prompt"],
        # the function sends the job as its JSON text; a plain jsonb value is dumped again
        job=job if isinstance(job, str) else json.dumps(job),
        language=row.get("language"),
        tries=int(row["tries"]),
        error=row.get("error"),
    )


class FunctionBatchStore:
    """``BatchStore`` over named SQL calls; a base of ``FunctionResultStore``, so the
    Postgres and Supabase result stores are their own batch stores (as SQLite's is)."""

    def run(self, query: str, **params: Any) -> Any:
        raise NotImplementedError  # FunctionResultStore's adapters run the block

    def batch_add(
        self, item: BatchItem, new_batch_id: str, max_items: int
    ) -> tuple[BatchRecord, bool]:
        # refused here, before the round trip, with the SQLite store's words and error type
        add = batch_add_payload(item, new_batch_id, max_items)
        reply = self.run("batch_add", add=add)
        return batch_record_of(reply["batch"]), bool(reply["added"])

    def batch_seal(self, batch_id: str) -> BatchRecord | None:
        row = self.run("batch_seal", batch_id=batch_id)
        return batch_record_of(row) if row else None

    def batch_get(self, batch_id: str) -> BatchRecord | None:
        row = self.run("batch_get", batch_id=batch_id)
        return batch_record_of(row) if row else None

    def batch_update(
        self,
        batch_id: str,
        state: BatchState,
        *,
        remote_name: str | None = None,
        poll_chain: str | None = None,
        error: str | None = None,
    ) -> None:
        update = {
            "batch_id": batch_id,
            "state": state.value,
            "remote_name": remote_name,
            "poll_chain": poll_chain,
            "error": error,
        }
        self.run("batch_update", update=update)

    def batch_items(self, batch_id: str) -> list[BatchItem]:
        return [batch_item_of(r) for r in self.run("batch_items", batch_id=batch_id) or []]

    def batch_item_settle(
        self, batch_id: str, video_id: str, state: ItemState, error: str | None = None
    ) -> None:
        settle = {"batch_id": batch_id, "video_id": video_id, "state": state.value}
        self.run("batch_item_settle", settle=settle | {"error": error})

    def batch_list(self, limit: int = 50) -> list[BatchRecord]:
        return [batch_record_of(r) for r in self.run("batch_list", limit=max(0, limit)) or []]
