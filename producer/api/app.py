"""The HTTP API: ``create_app(settings, queue, reader, artifacts)`` → a FastAPI app.

Endpoints are plain ``def`` on purpose: the adapters are synchronous (SQLite, httpx, boto3),
so FastAPI runs each request in its threadpool and the event loop is never blocked. (On a
Python Worker the runtime runs them inline: Pyodide has no threads, and the queue binding
is awaited through ``pyodide.ffi.run_sync``; see ``producer.worker``.)

Everything under ``/v1`` needs a bearer key (``producer.api.auth``); ``/healthz`` and the
OpenAPI docs (``/docs``, ``/openapi.json``) do not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, status
from fastapi.middleware.cors import CORSMiddleware

import producer.backfill as backfill_module
from producer.api import errors
from producer.api.auth import KeyChecker, require_key
from producer.api.middleware import BodyLimit, LastResort
from producer.api.schemas import (
    ArtifactLink,
    ChannelRequest,
    DeadLettersQuery,
    DeadLettersResponse,
    ErrorBody,
    Health,
    JobsResponse,
    PlaylistRequest,
    ProgressResponse,
    QueueStatsOut,
    RedriveRequest,
    RedriveResponse,
    RejectedInput,
    VideoQuery,
    VideoResponse,
    VideosRequest,
)
from producer.enqueue import enqueue_refs, parse_refs
from producer.youtube_data_api import parse_listing_ref
from shared.errors import ArtifactNotFound, ConfigError, InvalidInput, TubeqError
from shared.models import VideoStatus
from shared.ports import ArtifactStore, Queue, ResultReader
from shared.settings import Settings
from shared.video_ids import parse_video_ref

log = structlog.get_logger(__name__)

API_VERSION = "1"
Backfill = Callable[..., backfill_module.BackfillReport]


@dataclass(frozen=True)
class _Deps:
    settings: Settings
    queue: Queue
    reader: ResultReader
    artifacts: ArtifactStore
    run_backfill: Backfill


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


_AUTH_ERRORS = _doc(401, 403)
_BODY_ERRORS = _doc(400, 413, 422)


def create_app(
    settings: Settings,
    queue: Queue,
    reader: ResultReader,
    artifacts: ArtifactStore,
    *,
    insecure_no_auth: bool = False,
    backfill: Backfill | None = None,
) -> FastAPI:
    """The API over these adapters. Without API keys it refuses, unless told it is insecure."""
    checker = KeyChecker(settings.api_keys)
    if not checker.enabled and not insecure_no_auth:
        raise ConfigError(
            "TUBEQ_API_KEYS is empty: the API would be open to anyone. Set one or more keys "
            "(comma-separated, e.g. from `openssl rand -hex 32`), or for a local try-out run "
            "`tubeq serve --insecure-no-auth` (binds 127.0.0.1 only)"
        )
    deps = _Deps(settings, queue, reader, artifacts, backfill or backfill_module.backfill)

    app = FastAPI(
        title="tubeq",
        version=API_VERSION,
        summary="Enqueue YouTube videos for analysis; read progress, analyses and dead letters.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        """Liveness: the process answers. Needs no key."""
        return Health(status="ok")

    v1 = APIRouter(
        prefix="/v1", dependencies=[Depends(require_key(checker))], responses=_AUTH_ERRORS
    )
    _jobs_routes(v1, deps)
    _status_routes(v1, deps)
    _dlq_routes(v1, deps)
    app.include_router(v1)

    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, max_body_bytes=settings.api_max_body_bytes)
    app.add_middleware(LastResort)  # added last = outermost of ours
    return app


def _jobs_routes(v1: APIRouter, deps: _Deps) -> None:
    @v1.post(
        "/jobs",
        response_model=JobsResponse,
        status_code=status.HTTP_202_ACCEPTED,
        responses={**_BODY_ERRORS, **_doc(502, 503)},
        tags=["jobs"],
    )
    def post_jobs(
        body: Annotated[VideosRequest | ChannelRequest | PlaylistRequest, Body()],
    ) -> JobsResponse:
        """Enqueue videos (ids or URLs), or backfill a channel or playlist.

        A mixed batch enqueues the valid videos and lists each rejected input with its
        reason; when none is valid the answer is 422 with the same list.
        """
        if isinstance(body, VideosRequest):
            return _enqueue_videos(deps, body)
        return _backfill(deps, body)


def _enqueue_videos(deps: _Deps, body: VideosRequest) -> JobsResponse:
    parsed = parse_refs(body.videos)
    rejected = [RejectedInput(input=r.input, reason=r.reason) for r in parsed.rejected]
    if not parsed.video_ids:
        raise errors.NothingValid(rejected)
    report = enqueue_refs(deps.queue, deps.reader, body.videos, source="api", force=body.force)
    log.info("api.enqueued", accepted=len(report.accepted), rejected=len(rejected))
    return JobsResponse(accepted=report.accepted, rejected=rejected)


def _backfill(deps: _Deps, body: ChannelRequest | PlaylistRequest) -> JobsResponse:
    if isinstance(body, ChannelRequest):
        ref, kind, other = body.channel, "channel", "playlist"
    else:
        ref, kind, other = body.playlist, "playlist", "channel"
    listing = parse_listing_ref(ref)
    if (listing.kind == "playlist") != (kind == "playlist"):
        raise InvalidInput(f"{ref!r} names a {other}, not a {kind}: send it as {other!r}")
    result = deps.run_backfill(
        deps.settings,
        deps.queue,
        deps.reader,
        ref,
        since=body.since,
        limit=body.limit,
        dry_run=body.dry_run,
        force=body.force,
    )
    log.info("api.backfill", kind=kind, enqueued=result.enqueued, dry_run=body.dry_run)
    return JobsResponse(accepted=[], rejected=[], backfill=result)


def _status_routes(v1: APIRouter, deps: _Deps) -> None:
    @v1.get("/progress", response_model=ProgressResponse, responses=_doc(503), tags=["status"])
    def get_progress() -> ProgressResponse:
        """Videos per state, tokens and cost so far, and the queue's backlog."""
        progress = deps.reader.progress()
        try:
            stats = deps.queue.stats()
        except TubeqError as exc:
            if exc.code != errors.NOT_SUPPORTED:
                raise
            # a Worker without the Queues REST secrets: the counts still help
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
        responses=_doc(400, 404, 422, 503),
        tags=["status"],
    )
    def get_video(
        video_id: Annotated[
            str, Path(max_length=2_000, description="An 11-character video id (or a URL).")
        ],
        query: Annotated[VideoQuery, Query()],
    ) -> VideoResponse:
        """One video: its state, its analysis and presigned links to its artifacts."""
        vid = parse_video_ref(video_id)  # InvalidInput → 400 saying what is wrong with it
        found = deps.reader.get_video(vid)
        if found is None:
            raise errors.VideoNotFound(
                f"video {vid} is unknown here: enqueue it first (POST /v1/jobs)"
            )
        lifetime = timedelta(seconds=query.expires_in or deps.settings.presign_expiry_s)
        return VideoResponse(video=found, links=_links(deps.artifacts, found, lifetime))


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


def _dlq_routes(v1: APIRouter, deps: _Deps) -> None:
    @v1.get("/dlq", response_model=DeadLettersResponse, responses=_doc(422, 501, 503), tags=["dlq"])
    def list_dead_letters(
        query: Annotated[DeadLettersQuery, Query()],
    ) -> DeadLettersResponse:
        """Messages that ran out of retries, with their last error."""
        return DeadLettersResponse(dead_letters=deps.queue.dead_letters(query.limit))

    @v1.post(
        "/dlq/redrive",
        response_model=RedriveResponse,
        responses={**_BODY_ERRORS, **_doc(501, 503)},
        tags=["dlq"],
    )
    def redrive(body: RedriveRequest) -> RedriveResponse:
        """Put dead letters back on the queue with fresh attempts: all, or these ids."""
        if body.all == bool(body.message_ids):
            raise InvalidInput(
                'say which: {"all": true} or {"message_ids": [...]} (ids from GET /v1/dlq), '
                "not both and not neither"
            )
        ids = None if body.all else body.message_ids
        moved = deps.queue.redrive(ids)
        log.info("api.redrive", moved=moved)
        return RedriveResponse(redriven=moved, requested=None if ids is None else len(ids))
