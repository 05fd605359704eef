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

The routes live by area in ``producer.api.*_routes`` (jobs, status, dlq, search, fleet, and the
Worker's forwarded ones), built over ``producer.api.deps.ApiDeps``; this module puts them
together in their order, with the middleware.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import producer.backfill as backfill_module
from producer.api import errors
from producer.api.auth import KeyChecker, require_key
from producer.api.deps import AUTH_ERRORS, ApiDeps, Backfill, error_docs
from producer.api.dlq_routes import add_dlq_routes
from producer.api.fleet_routes import add_fleet_routes, budget_meter
from producer.api.forwarded_routes import (
    FORWARDED_METHODS,
    Forward,
    add_forwarded_dashboard,
    add_forwarded_dashboard_links,
    add_forwarded_routes,
)
from producer.api.job_routes import add_job_routes
from producer.api.middleware import BodyLimit, LastResort, OneValueParams
from producer.api.offload import Offload
from producer.api.schemas import Health
from producer.api.search_routes import add_search_routes
from producer.api.status_routes import add_status_routes
from shared.errors import ConfigError
from shared.ports import ApiQueue, ArtifactStore, BudgetMeter, ResultReader
from shared.settings import Settings

__all__ = ["API_VERSION", "FORWARDED_METHODS", "Backfill", "Forward", "create_app"]

API_VERSION = "1"


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
    deps = ApiDeps(settings, queue, reader, artifacts, run_backfill, Offload(threads))
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
        responses=error_docs(400),
    )
    errors.install(app)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """Liveness: the process answers. Needs no key."""
        return Health(status="ok")

    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Depends(require_key(checker, KeyChecker(settings.analyst_keys)))],
        responses=AUTH_ERRORS,
    )
    add_job_routes(v1, deps)
    meter: BudgetMeter | None = None
    if forward is None:
        add_status_routes(v1, deps)
        add_dlq_routes(v1, deps)
        add_search_routes(v1, settings, deps.call, deps.need_reader)
        # the overview's fleet panels: running consumers, model quota in use (a read)
        meter = budget_meter(settings) if reader is not None else None
        if meter is not None:
            app.router.on_shutdown.append(meter.close)
        add_fleet_routes(v1, deps.call, deps.need_reader, meter)
    else:
        add_forwarded_routes(v1, forward)
        # before the /v1 router: these check their reader at the backend (cookie or key)
        add_forwarded_dashboard_links(app, forward)
    app.include_router(v1)
    if forward is not None:
        add_forwarded_dashboard(app, forward)  # after every route of the Worker's own
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
