"""The SQLite result store's batch rows (``sqlite_schema.sql``: ``batches``, ``batch_items``)
as ``shared.gemini.batch_models`` records."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from shared.adapters._sqlite_results_rows import dt
from shared.gemini.batch_models import BatchItem, BatchRecord, BatchState, ItemState


def _required(value: str) -> datetime:
    return dt(value) or datetime.now(UTC)


def batch_record_of(row: sqlite3.Row) -> BatchRecord:
    return BatchRecord(
        batch_id=row["batch_id"],
        analysis_version=row["analysis_version"],
        state=BatchState(row["state"]),
        items=row["items"],
        created_at=_required(row["created_at"]),
        updated_at=_required(row["updated_at"]),
        remote_name=row["remote_name"],
        submitted_at=dt(row["submitted_at"]),
        ended_at=dt(row["ended_at"]),
        poll_chain=row["poll_chain"],
        opened_by=row["opened_by"],
        sealed_by=row["sealed_by"],
        error=row["error"],
    )


def batch_item_of(row: sqlite3.Row) -> BatchItem:
    return BatchItem(
        batch_id=row["batch_id"],
        video_id=row["video_id"],
        analysis_version=row["analysis_version"],
        state=ItemState(row["state"]),
        prompt=row["prompt"],
        job=row["job"],
        language=row["language"],
        tries=row["tries"],
        error=row["error"],
    )
