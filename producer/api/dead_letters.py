"""Listing dead letters without destroying them: the one place the API (and the CLI) decide
where to read them from.

A queue whose listing is free (SQLite: a table) is listed directly. A queue whose listing
costs the letters an attempt (Cloudflare: pull-and-release; past the DLQ consumer's
``max_retries`` Cloudflare deletes them) is read from the result store instead: the
consumer records every dead-lettered video there as ``dead`` with its error and attempts.
The queue itself is listed only when asked to peek, and the answer says what it cost.
"""

from __future__ import annotations

from producer.api.errors import NotServedHere
from producer.api.offload import Offload
from producer.api.schemas import DeadLettersResponse
from shared.dead_letters import PEEK_NOTE, dead_videos, redrive_and_mark
from shared.models import DeadLetter
from shared.ports import ApiQueue, ResultReader

__all__ = ["list_dead_letters", "redrive_and_mark"]

RESULTS_NOTE = (
    "dead videos from the result store (listing the queue itself would count attempts "
    'there). Redrive with POST /v1/dlq/redrive {"all": true} before the DLQ\'s message '
    "retention period (4 days by default) lapses; ?peek=true lists message ids."
)


async def list_dead_letters(
    call: Offload, queue: ApiQueue, reader: ResultReader | None, limit: int, *, peek: bool
) -> DeadLettersResponse:
    if not queue.dead_letter_listing_consumes:
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
