"""Listing dead letters without destroying them: the one place the API (and the CLI) decide
where to read them from.

A queue whose listing is free (SQLite: a table) is listed directly. A queue whose listing
costs the letters an attempt (Cloudflare: pull-and-release; past the DLQ consumer's
``max_retries`` Cloudflare deletes them) is read from the result store instead: the
consumer records every dead-lettered video there as ``dead`` with its error and attempts.
The queue itself is listed only when asked to peek, and the answer says what it cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from producer.api.errors import NotServedHere
from producer.api.offload import Offload
from producer.api.schemas import DeadLettersResponse, DeadVideo
from shared.errors import InvalidInput
from shared.models import DeadLetter, VideoJob, VideoState
from shared.ports import ResultReader
from shared.video_ids import is_video_id

#: ``failures()`` mixes failed, retrying and dead rows; read this many to find dead ones
FAILURE_SCAN = 1_000
PEEK_NOTE = (
    "peeked at the dead-letter queue: each listed message's attempts there went up by one; "
    "past the DLQ consumer's max_retries Cloudflare deletes it. Peek rarely."
)
RESULTS_NOTE = (
    "dead videos from the result store (listing the queue itself would count attempts "
    'there). Redrive with POST /v1/dlq/redrive {"all": true} before the DLQ\'s message '
    "retention period (4 days by default) lapses; ?peek=true lists message ids."
)


def listing_consumes(queue: Any) -> bool:
    """Whether listing this queue's dead letters costs them attempts (Cloudflare's DLQ)."""
    return bool(getattr(queue, "DEAD_LETTER_LISTING_CONSUMES", False))


def dead_videos(reader: ResultReader, limit: int) -> list[DeadVideo]:
    """The most recent dead videos in the result store, newest first."""
    rows = reader.failures(max(limit, FAILURE_SCAN))
    return [
        DeadVideo(
            video_id=row.video_id,
            title=row.meta.title if row.meta else None,
            attempts=row.attempts,
            error_code=row.error_code,
            error=row.error,
            dead_since=row.updated_at,
        )
        for row in rows
        if row.state == VideoState.DEAD
    ][:limit]


async def list_dead_letters(
    call: Offload, queue: Any, reader: ResultReader | None, limit: int, *, peek: bool
) -> DeadLettersResponse:
    if not listing_consumes(queue):
        letters: list[DeadLetter] = await call(queue.dead_letters, limit)
        return DeadLettersResponse(source="queue", dead_letters=letters, dead_videos=[])
    if peek:
        peeked: list[DeadLetter] = await call(queue.peek_dead_letters, limit)
        return DeadLettersResponse(
            source="queue", dead_letters=peeked, dead_videos=[], note=PEEK_NOTE
        )
    if reader is None:
        raise NotServedHere(
            "dead videos are read from the result store, which this deployment does not "
            "reach: use GET /v1/dlq on `tubeq serve` next to the consumers, `tubeq dlq list`, "
            "or the failures view in Supabase"
        )
    found = await call(dead_videos, reader, limit)
    return DeadLettersResponse(
        source="results", dead_letters=[], dead_videos=found, note=RESULTS_NOTE
    )


def redrive_and_mark(
    queue: Any, reader: ResultReader | None, message_ids: Sequence[str] | None
) -> int:
    """Redrive dead letters (all, or these message ids) and, where listing them is free
    (SQLite), mark their videos queued again so progress matches the queue; on Cloudflare
    the consumer updates each video as it takes it. The one redrive the CLI and API share."""
    if message_ids is not None:
        bad = [m for m in message_ids if is_video_id(m)]
        if bad:
            raise InvalidInput(
                f"{bad[0]!r} looks like a video id; redrive takes message ids (from the queue "
                "listing), or all of them"
            )
    back: list[VideoJob] = []
    if reader is not None and not listing_consumes(queue):
        wanted = None if message_ids is None else set(message_ids)
        back = [
            d.body
            for d in queue.dead_letters(1000)
            if isinstance(d.body, VideoJob) and (wanted is None or d.message_id in wanted)
        ]
    moved: int = queue.redrive(message_ids)
    if back and reader is not None:
        reader.mark_queued(back)
    return moved
