"""The Worker's hand-over to the backend (``forward``, with ``TUBEQ_BACKEND_URL``): every
``/v1`` request but ``POST /v1/jobs`` once its key has been checked at the edge, artifact
links followed by a browser, and the dashboard's pages, login and assets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response

#: hands an authenticated request to the backend and returns its answer (the Worker's)
Forward = Callable[[Request], Awaitable[Response]]
#: every method a forwarded request may have (the backend answers 405 where it must)
FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
#: what a dashboard page may send; the backend answers 405 for the rest
_PAGE_METHODS = ["GET", "HEAD", "POST"]


def add_forwarded_routes(v1: APIRouter, forward: Forward) -> None:
    # On the v1 router, so its key check runs first: 401/403 are answered here and an
    # unauthenticated request never reaches the backend. Registered after POST /v1/jobs,
    # which stays local; every other /v1 path and method goes to the backend.
    @v1.api_route(
        "/{path:path}", methods=FORWARDED_METHODS, include_in_schema=False, tags=["forwarded"]
    )
    async def forwarded(request: Request) -> Response:
        return await forward(request)


def add_forwarded_dashboard_links(app: FastAPI, forward: Forward) -> None:
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


def add_forwarded_dashboard(app: FastAPI, forward: Forward) -> None:
    # The dashboard's pages, login and assets live with `tubeq serve`; the Worker is the one
    # public URL, so it hands them over as they are. The pages do their own access checks
    # (a login cookie or a key), so no key is asked for here.
    @app.api_route("/{path:path}", methods=_PAGE_METHODS, include_in_schema=False)
    async def dashboard_page(request: Request) -> Response:
        return await forward(request)
