"""``POST /v1/jobs``: enqueue videos (ids or URLs), or backfill a channel or playlist
(``producer.backfill``). It is the one route the Worker serves itself; every other ``/v1``
route is forwarded from there (``producer.api.forwarded_routes``)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Body, status

from producer.api import errors
from producer.api.deps import BODY_ERRORS, ApiDeps, error_docs
from producer.api.schemas import (
    ChannelRequest,
    JobsResponse,
    PlaylistRequest,
    RejectedInput,
    VideosRequest,
)
from producer.enqueue import parse_refs
from shared.errors import InvalidInput
from shared.models import VideoJob
from shared.templates.names import check_template_name
from shared.youtube_data_api import parse_listing_ref

log = structlog.get_logger(__name__)


def add_job_routes(v1: APIRouter, deps: ApiDeps) -> None:
    @v1.post(
        "/jobs",
        response_model=JobsResponse,
        status_code=status.HTTP_202_ACCEPTED,
        responses={**BODY_ERRORS, **error_docs(502, 503)},
        tags=["jobs"],
    )
    async def post_jobs(
        body: Annotated[VideosRequest | ChannelRequest | PlaylistRequest, Body()],
    ) -> JobsResponse:
        """Enqueue videos (ids or URLs), or backfill a channel or playlist.

        A mixed batch enqueues the valid videos and lists each rejected input with its
        reason; when none is valid the answer is 422 with the same list.
        """
        if isinstance(body, VideosRequest):
            return await _enqueue_videos(deps, body)
        return await _backfill(deps, body)


async def _enqueue_videos(deps: ApiDeps, body: VideosRequest) -> JobsResponse:
    parsed = parse_refs(body.videos)
    rejected = [
        RejectedInput(input=r.input, reason=r.reason, index=r.index) for r in parsed.rejected
    ]
    if not parsed.video_ids:
        raise errors.NothingValid(rejected)
    check_template_name(body.template, deps.settings.templates_dir)
    jobs = [
        VideoJob(video_id=v, force=body.force, source="api", template=body.template)
        for v in parsed.video_ids
    ]
    await deps.call(deps.queue.send, jobs)
    # a video's state follows its summary; a template job leaves it as it is
    if deps.reader is not None and body.template == "summary":
        await deps.call(deps.reader.mark_queued, jobs)
    log.info("api.enqueued", accepted=len(jobs), rejected=len(rejected))
    return JobsResponse(accepted=parsed.video_ids, rejected=rejected)


async def _backfill(deps: ApiDeps, body: ChannelRequest | PlaylistRequest) -> JobsResponse:
    if isinstance(body, ChannelRequest):
        ref, kind, other = body.channel, "channel", "playlist"
    else:
        ref, kind, other = body.playlist, "playlist", "channel"
    listing = parse_listing_ref(ref)
    if (listing.kind == "playlist") != (kind == "playlist"):
        raise InvalidInput(f"{ref!r} names a {other}, not a {kind}: send it as {other!r}")
    check_template_name(body.template, deps.settings.templates_dir)
    if body.batch and body.template != "summary":
        raise InvalidInput("batch runs the summary template only: send batch false for another")
    result = await deps.call(
        deps.run_backfill,
        deps.settings,
        deps.queue,
        deps.reader,
        ref,
        since=body.since,
        limit=body.limit,
        dry_run=body.dry_run,
        force=body.force,
        template=body.template,
        batch=body.batch,
    )
    log.info(
        "api.backfill", kind=kind, enqueued=result.enqueued, dry_run=body.dry_run, batch=body.batch
    )
    return JobsResponse(accepted=[], rejected=[], backfill=result)
