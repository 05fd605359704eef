"""Gemini batches (issue 12: half-price backfills): where batches are kept, and the Batch API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shared.gemini.batch_models import (
    BatchItem,
    BatchRecord,
    BatchReply,
    BatchState,
    ItemState,
    RemoteBatch,
)
from shared.models import Transcript, VideoMeta


@runtime_checkable
class BatchStore(Protocol):
    """Where batches and their videos are kept (the result store, ``sql/010_batches.sql``),
    written before and after every call to Gemini so a crash loses nothing and no batch is
    submitted twice (``shared.gemini.batch_models``)."""

    def batch_add(
        self, item: BatchItem, new_batch_id: str, max_items: int
    ) -> tuple[BatchRecord, bool]:
        """Put a video's request in the open batch of its analysis version (opening one
        under ``new_batch_id`` if there is none; sealing it when it reaches ``max_items``).
        A video already pending in a live batch, or saved, stays where it is: returns that
        batch and False; True when the item was added now."""
        ...

    def batch_seal(self, batch_id: str) -> BatchRecord | None:
        """Close an open batch to new videos (a no-op in any other state); the batch."""
        ...

    def batch_get(self, batch_id: str) -> BatchRecord | None: ...

    def batch_update(
        self,
        batch_id: str,
        state: BatchState,
        *,
        remote_name: str | None = None,
        poll_chain: str | None = None,
        error: str | None = None,
    ) -> None:
        """Set its state (and, when given, its remote name, poll chain and error)."""
        ...

    def batch_items(self, batch_id: str) -> list[BatchItem]: ...

    def batch_item_settle(
        self, batch_id: str, video_id: str, state: ItemState, error: str | None = None
    ) -> None:
        """The item's outcome, if it is still in this batch (a requeued video that moved on
        to another batch is left alone)."""
        ...

    def batch_list(self, limit: int = 50) -> list[BatchRecord]:
        """Newest first, at most ``limit`` of them (none for a limit of 0 or less)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BatchAnalyzer(Protocol):
    """The Gemini Batch API (``shared.adapters.gemini_batch``): the same prompt, schema and
    model as the online analyzer, so the same ``analysis_version``, at batch prices."""

    @property
    def analysis_version(self) -> str: ...

    def request_text(self, transcript: Transcript, meta: VideoMeta | None) -> str | None:
        """The request's user text for this video; None when it needs the chunked
        (map-reduce) path, which runs online."""
        ...

    def submit(self, display_name: str, items: Sequence[BatchItem]) -> RemoteBatch:
        """The batch named ``display_name`` at Gemini: the one already there (a submit that
        died after creating it), else created now (inline requests, or a JSONL file through
        the Files API above the inline limit)."""
        ...

    def get(self, name: str) -> RemoteBatch: ...

    def results(self, name: str) -> list[BatchReply]:
        """Every reply of a succeeded batch, validated like an online reply."""
        ...

    def list(self, limit: int = 50) -> list[RemoteBatch]:
        """The batches at Gemini, as it lists them, at most ``limit`` (none for 0 or less)."""
        ...

    def cancel(self, name: str) -> None: ...

    def close(self) -> None: ...
