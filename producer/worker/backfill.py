"""Channel and playlist backfills on the Worker (``POST /v1/jobs {"channel": …}``): the
same listing, filters, estimate and report as ``producer.backfill``, over the async Data API
client and the awaited queue binding.

What differs from ``tubeq backfill``: the Worker reads no result store, so it cannot skip
videos already analysed or already queued. Everything listed is sent; the consumer skips
finished videos (same analysis version) without a model call, so a re-run costs queue
operations, not analyses. A Worker request also has a subrequest budget (1,000 on Workers
Paid): each page of 50 videos costs two, so backfill channels of many thousands of
videos with the CLI, which also skips what is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from producer.backfill import SEND_CHUNK, BackfillReport, _published_since, estimate
from producer.worker.data_api import AsyncYouTubeDataApi
from producer.youtube_data_api import PlaylistEntry, parse_listing_ref
from shared.errors import InvalidInput
from shared.models import VideoJob
from shared.ports import ResultReader
from shared.settings import Settings


class AsyncSender(Protocol):
    async def send(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int: ...


async def list_entries(
    client: AsyncYouTubeDataApi, playlist_id: str, since: date | None, limit: int | None
) -> list[PlaylistEntry]:
    """Unique entries on or after ``since`` (undated ones kept: they count as unavailable),
    page by page, stopping as soon as ``limit`` is reached to save quota."""
    unique: dict[str, PlaylistEntry] = {}
    token: str | None = None
    while True:
        page, token = await client.playlist_page(playlist_id, token)
        for entry in page:
            if since is not None and entry.published_at and entry.published_at.date() < since:
                continue
            unique.setdefault(entry.video_id, entry)
            if limit is not None and len(unique) >= limit:
                return list(unique.values())
        if token is None:
            return list(unique.values())


async def backfill_on_worker(
    settings: Settings,
    queue: AsyncSender,
    reader: ResultReader | None,
    ref: str,
    *,
    since: date | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    force: bool = False,
    api: AsyncYouTubeDataApi | None = None,
) -> BackfillReport:
    """List and enqueue a channel's or playlist's videos (``reader`` is unused: see above)."""
    if limit is not None and limit < 1:
        raise InvalidInput(f"limit must be at least 1 (got {limit})")
    listing_ref = parse_listing_ref(ref)
    client = api or AsyncYouTubeDataApi.from_settings(settings)
    try:
        target = await client.resolve(listing_ref)
        entries = await list_entries(client, target.playlist_id, since, limit)
        metas = await client.videos([e.video_id for e in entries])
    finally:
        if api is None:
            await client.aclose()
    listed = [
        metas[e.video_id]
        for e in entries
        if e.video_id in metas and _published_since(metas[e.video_id], since)
    ]
    est = estimate(listed, settings)
    report = BackfillReport(
        kind=target.kind,
        id=target.id,
        title=target.title,
        playlist_id=target.playlist_id,
        found=len(entries),
        unavailable=sum(1 for e in entries if e.video_id not in metas),
        enqueued=len(listed),
        estimated_input_tokens=est.input_tokens,
        estimated_output_tokens=est.output_tokens,
        estimated_cost_usd=est.cost_usd,
        estimated_model_calls=est.calls,
        estimated_duration_s=est.duration_s,
        dry_run=dry_run,
    )
    if dry_run:
        return report
    source = f"backfill:{target.id}"
    for start in range(0, len(listed), SEND_CHUNK):
        chunk = listed[start : start + SEND_CHUNK]
        await queue.send(
            [VideoJob(video_id=m.video_id, force=force, source=source, meta=m) for m in chunk]
        )
    return report
