"""Channel and playlist backfills: list every video, skip what is done or already queued,
estimate the cost, and enqueue the rest in batches.

Re-running an interrupted backfill enqueues nothing twice: videos analysed with the
current version are skipped (``reader.done_ids``), and so are videos the result store
knows as queued, processing or retrying (``reader.states``, one bulk lookup per
``STATE_LOOKUP_CHUNK`` listed videos rather than a round trip per video), because every
chunk is noted with ``reader.mark_queued`` right after it is sent. A crash between a chunk's send
and its mark can re-send that one chunk (≤ 100 jobs) on the re-run; the consumer's skip of
finished videos and reuse of saved analyses keep that from costing a second model call.
Marking before sending would close that window but could lose jobs for good (marked
"queued", never sent), which is worse than a harmless duplicate.

Listing (``producer.backfill_listing``): live streams and upcoming premieres are not
enqueued (no transcript yet), and ``--since`` on a channel stops paging once the uploads
playlist reaches older videos.

One async core (``run_backfill``) for every path: the Worker awaits it (Pyodide: no
threads), ``tubeq backfill`` and ``tubeq serve`` call ``backfill``, which runs it under
``asyncio.run`` — so skipping live videos, stopping at ``--since``, the retry policy (the
listing adapter's), the bulk state lookups and the batched sends cannot drift apart. The
queue may be the sync ``Queue`` port or the Worker's awaited binding; the Worker has no
result store (``reader=None``), so it cannot skip what is done or queued: the consumer
skips finished videos without a model call. A Worker request also has a subrequest budget
(1,000 on Workers Paid): each page of 50 videos costs two, so backfill channels of many
thousands of videos with the CLI.

``batch=True`` (``tubeq backfill --batch``, issue 12) sends ``batch.collect`` jobs instead of
``video.analyze``: the consumer collects the videos into Gemini batches at half the price
(``consumer/handlers/batch*.py``); videos long enough for the chunked path go online. The
report then carries the batch estimate beside the online one (it always does: ``--dry-run``
shows both, side by side).

Estimates (``producer.backfill_estimate``) count tokens the way the analyzer does, and the
chunked path for long videos.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel, Field

from producer.backfill_estimate import (
    BATCH_PRICE_FACTOR,
    DEFAULT_DURATION_S,
    Estimate,
    actual_cost_per_video,
    estimate,
    estimate_batch,
)
from producer.backfill_listing import list_entries, list_videos
from shared.errors import InvalidInput
from shared.gemini.batch_jobs import BatchCollectJob
from shared.models import VideoJob, VideoMeta, VideoState
from shared.ports import JobSender, ListingSource, ResultReader
from shared.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

__all__ = [
    "BATCH_PRICE_FACTOR",
    "DEFAULT_DURATION_S",
    "BackfillReport",
    "Estimate",
    "actual_cost_per_video",
    "backfill",
    "estimate",
    "estimate_batch",
    "list_entries",
    "run_backfill",
    "send_videos",
]

SEND_CHUNK = 100  # Cloudflare Queues' sendBatch limit; the SQLite queue takes any size
#: listed videos per ``reader.states`` call: one round trip each on Postgres and Supabase
STATE_LOOKUP_CHUNK = 500
_IN_FLIGHT = {VideoState.QUEUED, VideoState.PROCESSING, VideoState.RETRYING}
# failed for good, or dead-lettered (its redrive is the operator's call); --force resends
_GAVE_UP = {VideoState.FAILED, VideoState.DEAD}


class BackfillReport(BaseModel):
    kind: str = Field(description="'channel' or 'playlist'")
    id: str
    title: str | None
    playlist_id: str
    found: int = Field(description="videos listed (after --since and --limit)")
    unavailable: int = Field(0, description="listed but private or deleted")
    skipped_live: int = Field(
        0, description="live streams and upcoming premieres: no transcript yet, not enqueued"
    )
    skipped_done: int = 0
    skipped_failed: int = Field(
        0, description="failed for good or dead-lettered before; --force sends them again"
    )
    already_queued: int = 0
    enqueued: int = Field(description="sent to the queue (on a dry run: would be)")
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cost_usd: float
    estimated_model_calls: int
    estimated_duration_s: float
    dry_run: bool
    batch: bool = Field(False, description="sent as batch.collect jobs (--batch)")
    estimated_batch_cost_usd: float = Field(
        0.0, description="the same videos through the Batch API (half price; long ones online)"
    )
    batch_online_videos: int = Field(
        0, description="videos a batch backfill sends online: long enough to be chunked"
    )


def _default_analysis_version(settings: Settings) -> str:
    from shared.factory import build_analyzer  # composition root, only when not given

    return build_analyzer(settings).analysis_version


def _default_listing(settings: Settings) -> ListingSource:
    from shared.factory import build_listing_source  # composition root, only when not given

    return build_listing_source(settings)


class _Plan:
    """Which listed videos to send, and why the others are not sent."""

    def __init__(self) -> None:
        self.to_send: list[VideoMeta] = []
        self.done: set[str] = set()
        self.already_queued = 0
        self.failed = 0


def _plan(
    settings: Settings,
    reader: ResultReader | None,
    listed: list[VideoMeta],
    *,
    skip_done: bool,
    force: bool,
    analysis_version: str | None,
) -> _Plan:
    plan = _Plan()
    if reader is None:  # the Worker: the consumer skips what is done
        plan.to_send = listed
        return plan
    ids = [m.video_id for m in listed]
    if skip_done and not force and ids:
        version = analysis_version or _default_analysis_version(settings)
        plan.done = reader.done_ids(ids, version)
    pending = [m for m in listed if m.video_id not in plan.done]
    for start in range(0, len(pending), STATE_LOOKUP_CHUNK):
        chunk = pending[start : start + STATE_LOOKUP_CHUNK]
        states = reader.states([m.video_id for m in chunk])
        for meta in chunk:
            state = states.get(meta.video_id)  # None: never seen, so due
            if state in _IN_FLIGHT:
                plan.already_queued += 1
            elif state in _GAVE_UP and not force:
                plan.failed += 1
            else:
                plan.to_send.append(meta)
    return plan


async def run_backfill(
    settings: Settings,
    queue: JobSender,
    reader: ResultReader | None,
    ref: str,
    *,
    since: date | None = None,
    limit: int | None = None,
    skip_done: bool = True,
    dry_run: bool = False,
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    analysis_version: str | None = None,
    listing: ListingSource | None = None,
    batch: bool = False,
    template: str = "summary",
) -> BackfillReport:
    """List a channel's or playlist's videos and enqueue the ones still to analyse.

    ``force`` re-analyses done and permanently failed videos (jobs carry ``force=True``);
    ``skip_done=False`` enqueues done videos too (the consumer still skips them unless the
    analysis version changed). Videos already queued are never sent twice.
    """
    if limit is not None and limit < 1:
        raise InvalidInput(f"--limit must be at least 1 (got {limit})")
    source = listing or _default_listing(settings)
    try:
        listed = await list_videos(source, ref, since, limit)
    finally:
        if listing is None:
            await source.aclose()

    target = listed.target
    # a video's state and "done" follow its summary: a template backfill sends every video
    # and the consumer skips those already analysed with the template's version
    plan = _plan(
        settings,
        reader if template == "summary" else None,
        listed.videos,
        skip_done=skip_done,
        force=force,
        analysis_version=analysis_version,
    )
    est = estimate(plan.to_send, settings)
    batch_cost, batch_online = estimate_batch(plan.to_send, settings)
    report = BackfillReport(
        kind=target.kind,
        id=target.id,
        title=target.title,
        playlist_id=target.playlist_id,
        found=len(listed.entries),
        unavailable=listed.unavailable,
        skipped_live=listed.skipped_live,
        skipped_done=len(plan.done),
        skipped_failed=plan.failed,
        already_queued=plan.already_queued,
        enqueued=len(plan.to_send),
        estimated_input_tokens=est.input_tokens,
        estimated_output_tokens=est.output_tokens,
        estimated_cost_usd=est.cost_usd,
        estimated_model_calls=est.calls,
        estimated_duration_s=est.duration_s,
        dry_run=dry_run,
        batch=batch,
        estimated_batch_cost_usd=batch_cost,
        batch_online_videos=batch_online,
    )
    if not dry_run:
        await send_videos(
            queue,
            reader,
            plan.to_send,
            f"backfill:{target.id}",
            force,
            on_progress,
            batch=batch,
            template=template,
        )
    return report


async def send_videos(
    queue: JobSender,
    reader: ResultReader | None,
    metas: Sequence[VideoMeta],
    source: str,
    force: bool,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    batch: bool = False,
    template: str = "summary",
) -> None:
    """Send one job per video (``video.analyze``, or ``batch.collect`` with ``batch``), in
    chunks, each chunk marked queued right after it is sent (see the module doc)."""
    sent = 0
    for start in range(0, len(metas), SEND_CHUNK):
        jobs = [
            VideoJob(video_id=m.video_id, force=force, source=source, meta=m, template=template)
            for m in metas[start : start + SEND_CHUNK]
        ]
        result = queue.send(
            [BatchCollectJob(**job.model_dump()) for job in jobs] if batch else jobs
        )
        if inspect.isawaitable(result):
            await result
        if reader is not None and template == "summary":  # sent first: see the module doc
            reader.mark_queued(jobs)
        sent += len(jobs)
        if on_progress is not None:
            on_progress(sent, len(metas))


def _run_sync(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The sync twin of an async core function, derived rather than written twice: its own
    event loop per call, so not for a running loop (await the core there)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(fn(*args, **kwargs))

    return run


#: ``run_backfill`` for sync callers (the CLI; ``tubeq serve`` runs it in a worker thread)
backfill = _run_sync(run_backfill)
