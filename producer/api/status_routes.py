"""``GET /v1/progress`` and ``GET /v1/videos/{id}``: the counts per state, spend and queue
backlog, and one video with its analysis and presigned links to its artifacts. Reads: the
Worker, which has no result store, forwards them to ``tubeq serve``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Query

from producer.api import errors
from producer.api.deps import READS_ELSEWHERE, ApiDeps, error_docs
from producer.api.schemas import (
    ArtifactLink,
    ProgressResponse,
    QueueStatsOut,
    VideoQuery,
    VideoResponse,
)
from shared.errors import ArtifactNotFound, TubeqError
from shared.models import VideoStatus
from shared.ports import ArtifactStore
from shared.video_ids import parse_video_ref

log = structlog.get_logger(__name__)


def add_status_routes(v1: APIRouter, deps: ApiDeps) -> None:
    @v1.get(
        "/progress",
        response_model=ProgressResponse,
        responses=error_docs(501, 503),
        tags=["status"],
    )
    async def get_progress() -> ProgressResponse:
        """Videos per state, tokens and cost so far, and the queue's backlog.

        ``usage`` is the spend of every billed model call (the spend ledger: calls for videos
        that ended failed count too), ``analysis_usage`` what the saved analyses cost, and
        ``calls_by_outcome`` the billed calls per outcome (ok, invalid, truncated, …)."""
        reader = deps.need_reader("GET /v1/progress")
        progress = await deps.call(reader.progress)
        try:
            stats = await deps.call(deps.queue.stats)
        except TubeqError as exc:
            if exc.code != errors.NOT_SUPPORTED:
                raise
            # a queue that cannot count: the counts still help
            return ProgressResponse(progress=progress, queue=None)
        queue = QueueStatsOut(
            ready=stats.ready,
            delayed=stats.delayed,
            in_flight=stats.in_flight,
            dead=stats.dead,
            backlog=stats.backlog,
        )
        return ProgressResponse(progress=progress, queue=queue)

    @v1.get(
        "/videos/{video_id}",
        response_model=VideoResponse,
        responses=error_docs(400, 404, 422, 501, 503),
        tags=["status"],
    )
    async def get_video(
        video_id: Annotated[
            str, Path(max_length=2_000, description="An 11-character video id (or a URL).")
        ],
        query: Annotated[VideoQuery, Query()],
    ) -> VideoResponse:
        """One video: its state, its analysis and presigned links to its artifacts."""
        vid = parse_video_ref(video_id)  # InvalidInput → 400 saying what is wrong with it
        reader = deps.need_reader("GET /v1/videos/{id}")
        if deps.artifacts is None:
            raise errors.NotServedHere(READS_ELSEWHERE.format(what="GET /v1/videos/{id}"))
        found = await deps.call(reader.get_video, vid)
        if found is None:
            raise errors.VideoNotFound(
                f"video {vid} is unknown here: enqueue it first (POST /v1/jobs)"
            )
        lifetime = timedelta(seconds=query.expires_in or deps.settings.presign_expiry_s)
        links = await deps.call(_links, deps.artifacts, found, lifetime)
        return VideoResponse(video=found, links=links)


def _links(artifacts: ArtifactStore, found: VideoStatus, lifetime: timedelta) -> list[ArtifactLink]:
    expires_at = datetime.now(UTC) + lifetime
    links = []
    for art in found.artifacts:
        try:
            url = artifacts.url(art.key, lifetime)
        except ArtifactNotFound:
            # recorded but gone from the store (deleted by hand): offer no dead link
            log.warning("api.artifact_missing", video_id=found.video_id, key=art.key)
            continue
        links.append(
            ArtifactLink(
                kind=art.kind,
                key=art.key,
                content_type=art.content_type,
                size=art.size,
                url=url,
                expires_at=expires_at,
            )
        )
    return links
