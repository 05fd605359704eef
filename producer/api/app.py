"""The HTTP API: ``create_app(settings, queue, reader, artifacts)`` → a FastAPI app.

Endpoints and dependencies are ``async def`` and reach every adapter through
``producer.api.offload.Offload``: a sync adapter (SQLite, psycopg, boto3, sync httpx) runs in
a worker thread for ``tubeq serve``, so it never blocks its event loop; an async one (the
Worker's queue binding and its async backfill) is awaited; with ``threads=False`` (the
Worker, on Pyodide or in tests) a sync call runs inline. FastAPI's own threadpool is never
needed, so the same app runs on a Python Worker, which cannot start a thread.

``reader`` and ``artifacts`` may be None (the Worker, which only enqueues): the read
endpoints then answer 501 and say where reads are served — or, given ``forward`` (the
Worker with ``TUBEQ_BACKEND_URL``), every other ``/v1`` request is handed to it once the key
has been checked here, so an unauthenticated request never leaves the edge.

Everything under ``/v1`` needs a bearer key (``producer.api.auth``); ``/healthz`` and the
OpenAPI docs (``/docs``, ``/openapi.json``) do not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Response, status
from fastapi.middleware.cors import CORSMiddleware

import producer.backfill as backfill_module
from producer.api import errors
from producer.api.auth import KeyChecker, require_key
from producer.api.dead_letters import list_dead_letters, redrive_and_mark
from producer.api.fleet_routes import add_fleet_routes, budget_meter
from producer.api.middleware import BodyLimit, LastResort, OneValueParams
from producer.api.offload import Offload
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
from producer.api.search_routes import add_search_routes
from producer.enqueue import parse_refs
from shared.errors import ArtifactNotFound, ConfigError, InvalidInput, TubeqError
from shared.models import VideoJob, VideoStatus
from shared.ports import ApiQueue, ArtifactStore, BudgetMeter, ResultReader
from shared.settings import Settings
from shared.templates.names import check_template_name
from shared.video_ids import parse_video_ref
from shared.youtube_data_api import parse_listing_ref

log = structlog.get_logger(__name__)

API_VERSION = "1"
#: the sync ``producer.backfill.backfill`` or an async twin (the Worker's) with its signature
Backfill = Callable[..., backfill_module.BackfillReport | Awaitable[backfill_module.BackfillReport]]
#: hands an authenticated request to the backend and returns its answer (the Worker's)
Forward = Callable[[Request], Awaitable[Response]]
#: every method a forwarded request may have (the backend answers 405 where it must)
FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
READS_ELSEWHERE = (
    "this API is the Cloudflare Worker, which only enqueues: {what} is served by "
    "`tubeq serve` running next to the consumers (or read Supabase directly); see "
    "docs/deploy.md, 'What runs where'"
)


@dataclass(frozen=True)
class _Deps:
    settings: Settings
    queue: ApiQueue
    reader: ResultReader | None
    artifacts: ArtifactStore | None
    run_backfill: Backfill
    call: Offload

    def need_reader(self, what: str) -> ResultReader:
        if self.reader is None:
            raise errors.NotServedHere(READS_ELSEWHERE.format(what=what))
        return self.reader


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


_AUTH_ERRORS = _doc(401, 403)
_BODY_ERRORS = _doc(400, 413, 422)


def create_app(
    settings: Settings,
    queue: ApiQueue,
    reader: ResultReader | None,
    artifacts: ArtifactStore | None,
    *,
    insecure_no_auth: bool = False,
    backfill: Backfill | None = None,
    threads: bool | None = None,
    forward: Forward | None = None,
) -> FastAPI:
    """The API over these adapters. Without API keys it refuses, unless told it is insecure."""
    checker = KeyChecker(settings.api_keys)
    if not checker.enabled and not insecure_no_auth:
        raise ConfigError(
            "TUBEQ_API_KEYS is empty: the API would be open to anyone. Set one or more keys "
            "(comma-separated, e.g. from `openssl rand -hex 32`), or for a local try-out run "
            "`tubeq serve --insecure-no-auth` (binds 127.0.0.1 only)"
        )
    run_backfill = backfill or backfill_module.backfill
    deps = _Deps(settings, queue, reader, artifacts, run_backfill, Offload(threads))
    # the dashboard (and its offline /docs) where reads are served: not on the Worker
    dashboard = forward is None and reader is not None and artifacts is not None

    app = FastAPI(
        title="tubeq",
        version=API_VERSION,
        summary="Enqueue YouTube videos for analysis; read progress, analyses and dead letters.",
        docs_url=None if dashboard else "/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # any operation: a query parameter given twice (middleware.OneValueParams)
        responses=_doc(400),
    )
    errors.install(app)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """Liveness: the process answers. Needs no key."""
        return Health(status="ok")

    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Depends(require_key(checker, KeyChecker(settings.analyst_keys)))],
        responses=_AUTH_ERRORS,
    )
    _jobs_routes(v1, deps)
    meter: BudgetMeter | None = None
    if forward is None:
        _status_routes(v1, deps)
        _dlq_routes(v1, deps)
        add_search_routes(v1, settings, deps.call, deps.need_reader)
        # the overview's fleet panels: running consumers, model quota in use (a read)
        meter = budget_meter(settings) if reader is not None else None
        if meter is not None:
            app.router.on_shutdown.append(meter.close)
        add_fleet_routes(v1, deps.call, deps.need_reader, meter)
    else:
        _forwarded_routes(v1, forward)
        # before the /v1 router: these check their reader at the backend (cookie or key)
        _forwarded_dashboard_links(app, forward)
    app.include_router(v1)
    if forward is not None:
        _forwarded_dashboard(app, forward)  # after every route of the Worker's own
    if dashboard and reader is not None and artifacts is not None:
        from producer.dashboard import mount_dashboard  # imports this package: not at the top

        mount_dashboard(app, settings, queue, reader, artifacts, deps.call, meter=meter)

    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(OneValueParams)
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


async def _enqueue_videos(deps: _Deps, body: VideosRequest) -> JobsResponse:
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


async def _backfill(deps: _Deps, body: ChannelRequest | PlaylistRequest) -> JobsResponse:
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


def _status_routes(v1: APIRouter, deps: _Deps) -> None:
    @v1.get("/progress", response_model=ProgressResponse, responses=_doc(501, 503), tags=["status"])
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
        responses=_doc(400, 404, 422, 501, 503),
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


def _dlq_routes(v1: APIRouter, deps: _Deps) -> None:
    @v1.get("/dlq", response_model=DeadLettersResponse, responses=_doc(422, 501, 503), tags=["dlq"])
    async def get_dead_letters(
        query: Annotated[DeadLettersQuery, Query()],
    ) -> DeadLettersResponse:
        """Jobs that ran out of retries, with their last error.

        On Cloudflare the dead-letter queue cannot be listed without costing its messages
        an attempt, so dead videos are read from the result store (``source: results``);
        ``peek=true`` lists the queue itself, at that cost.
        """
        return await list_dead_letters(
            deps.call, deps.queue, deps.reader, query.limit, peek=query.peek
        )

    @v1.post(
        "/dlq/redrive",
        response_model=RedriveResponse,
        responses={**_BODY_ERRORS, **_doc(501, 503)},
        tags=["dlq"],
    )
    async def redrive(body: RedriveRequest) -> RedriveResponse:
        """Put dead letters back on the queue with fresh attempts: all, or these ids."""
        if body.all == bool(body.message_ids):
            raise InvalidInput(
                'say which: {"all": true} or {"message_ids": [...]} (ids from GET /v1/dlq), '
                "not both and not neither"
            )
        ids = None if body.all else body.message_ids
        moved = await deps.call(redrive_and_mark, deps.queue, deps.reader, ids)
        log.info("api.redrive", moved=moved)
        return RedriveResponse(redriven=moved, requested=None if ids is None else len(ids))


#: what a dashboard page may send; the backend answers 405 for the rest
_PAGE_METHODS = ["GET", "HEAD", "POST"]


def _forwarded_dashboard_links(app: FastAPI, forward: Forward) -> None:
    # An artifact link in Supabase Studio or a dashboard page is followed by a browser that
    # holds the dashboard's login cookie, not a bearer key, and the Worker cannot check
    # that cookie (the backend signs it): the backend checks it instead, as it checks any
    # request that reaches it directly.
    @app.api_route(
        "/v1/videos/{video_id}/artifacts/{kind}",
        methods=["GET", "HEAD"],
        include_in_schema=False,
    )
    async def artifact_link(request: Request) -> Response:
        return await forward(request)


def _forwarded_dashboard(app: FastAPI, forward: Forward) -> None:
    # The dashboard's pages, login and assets live with `tubeq serve`; the Worker is the one
    # public URL, so it hands them over as they are. The pages do their own access checks
    # (a login cookie or a key), so no key is asked for here.
    @app.api_route("/{path:path}", methods=_PAGE_METHODS, include_in_schema=False)
    async def dashboard_page(request: Request) -> Response:
        return await forward(request)


def _forwarded_routes(v1: APIRouter, forward: Forward) -> None:
    # On the v1 router, so its key check runs first: 401/403 are answered here and an
    # unauthenticated request never reaches the backend. Registered after POST /v1/jobs,
    # which stays local; every other /v1 path and method goes to the backend.
    @v1.api_route(
        "/{path:path}", methods=FORWARDED_METHODS, include_in_schema=False, tags=["forwarded"]
    )
    async def forwarded(request: Request) -> Response:
        return await forward(request)
