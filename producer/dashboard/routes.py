"""The dashboard's pages and their few actions, on the same app as the API.

Every page needs a key (``access``): a browser without one is sent to the login form, a
request with a wrong key gets 403. Adapters are called through ``Offload`` (a worker
thread for ``tubeq serve``), as the API does.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from producer.dashboard import overview as overview_module
from producer.dashboard import pages
from producer.dashboard.access import COOKIE, COOKIE_MAX_AGE_S, Role
from producer.dashboard.artifact_routes import artifact_routes
from producer.dashboard.context import Dashboard
from shared.dead_letters import redrive_and_mark
from shared.errors import InvalidInput, TubeqError
from shared.models import VideoState
from shared.video_ids import parse_video_ref

log = structlog.get_logger(__name__)

#: without JavaScript the overview reloads itself this often; with it, numbers poll faster
REFRESH_S = 15
POLL_MS = 2000


async def _form(request: Request) -> dict[str, str]:
    # urlencoded forms only (no python-multipart dependency for three small forms)
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _safe_next(target: str) -> str:
    """Only a path on this site: never ``//elsewhere`` or ``https://elsewhere``."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def build_router(d: Dashboard) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    _login_routes(router, d)
    _overview_routes(router, d)
    _browse_routes(router, d)
    artifact_routes(router, d)
    return router


def _login_routes(router: APIRouter, d: Dashboard) -> None:
    @router.get("/login")
    async def login_form(request: Request, next: str = "/") -> Response:
        return d.page(request, "login.html", next=_safe_next(next), error="")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        target = _safe_next(form.get("next", "/"))
        cookie = d.access.cookie_for(form.get("key", "").strip())
        if cookie is None:
            log.info("dashboard.login_refused")
            return d.page(
                request,
                "login.html",
                403,
                next=target,
                error="That key is not accepted: use a key from TUBEQ_API_KEYS or "
                "TUBEQ_ANALYST_KEYS.",
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=COOKIE_MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await _form(request)
        if not d.access.csrf_ok(request, form.get("csrf", "")):
            return d.error(request, 403, "Not allowed", "the form's token is missing or stale")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def _overview_routes(router: APIRouter, d: Dashboard) -> None:
    @router.get("/")
    async def overview(request: Request, redriven: int | None = None) -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        data = await d.call(overview_module.build_overview, d.queue, d.reader, d.meter)
        flash = "" if redriven is None else f"Redrove {redriven} dead letter(s)."
        return d.page(
            request,
            "overview.html",
            o=data,
            refresh_s=REFRESH_S,
            poll_ms=POLL_MS,
            can_act=role == Role.OPERATOR,
            flash=flash,
        )

    @router.get("/overview.json")
    async def overview_json(request: Request) -> Response:
        if d.access.role(request) is None:
            return JSONResponse(
                {"error": "unauthorized", "message": "log in, or send a bearer key"}, 401
            )
        data = await d.call(overview_module.build_overview, d.queue, d.reader, d.meter)
        return JSONResponse(data.as_json(), headers={"Cache-Control": "no-store"})

    @router.post("/dlq/redrive")
    async def redrive(request: Request) -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        if role != Role.OPERATOR:
            return d.error(
                request,
                403,
                "Not allowed",
                "an analyst key is read-only: redriving needs an operator key (TUBEQ_API_KEYS)",
            )
        form = await _form(request)
        if not d.access.csrf_ok(request, form.get("csrf", "")):
            return d.error(request, 403, "Not allowed", "the form's token is missing or stale")
        ids = None if form.get("all") else [m for m in [form.get("message_id", "")] if m]
        if ids == []:
            return d.error(request, 400, "Nothing to redrive", "say which: a message, or all")
        try:
            moved = await d.call(redrive_and_mark, d.queue, d.reader, ids)
        except TubeqError as exc:
            return d.error(request, 502, "Redrive failed", exc.message)
        log.info("dashboard.redrive", moved=moved)
        return RedirectResponse(f"/?redriven={moved}", status_code=303)


def _browse_routes(router: APIRouter, d: Dashboard) -> None:
    @router.get("/channels")
    async def channels(request: Request) -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        found, unavailable = await d.call(pages.channels_or_why, d.reader)
        return d.page(request, "channels.html", channels=found, unavailable=unavailable)

    @router.get("/channels/{channel_id}")
    async def channel(
        request: Request,
        channel_id: str,
        sort: str = "published",
        order: str = "desc",
        find: str = "",
        state: str = "",
    ) -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        sort = sort if sort in pages.SORTS else "published"
        page = await d.call(
            pages.channel_page,
            d.reader,
            channel_id,
            sort=sort,
            descending=order != "asc",
            find=find[:200],
            state=state if state in {s.value for s in VideoState} else "",
        )
        if page is None:
            return d.error(request, 404, "No such channel", f"no videos of {channel_id} here")
        return d.page(
            request,
            "channel.html",
            p=page,
            sort=sort,
            order=order,
            find=find,
            state=state,
            sorts=list(pages.SORTS),
            states=[s.value for s in VideoState],
        )

    @router.get("/videos/{video_id}")
    async def video(request: Request, video_id: str, find: str = "") -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        try:
            vid = parse_video_ref(video_id)
        except InvalidInput as exc:
            return d.error(request, 400, "Not a video id", exc.message)
        page = await d.call(pages.video_page, d.reader, d.artifacts, vid)
        if page is None:
            return d.error(request, 404, "No such video", f"video {vid} is unknown here")
        needle = find.strip().lower()
        lines = [
            line for line in page.transcript or [] if not needle or needle in line.text.lower()
        ]
        return d.page(request, "video.html", v=page, lines=lines, find=find)

    @router.get("/search")
    async def search(request: Request, q: str = "", channel: str = "") -> Response:
        role = d.gate(request)
        if isinstance(role, Response):
            return role
        result = await d.search.run(d.call, q, channel or None)
        return d.page(
            request,
            "search.html",
            q=q,
            hits=result.hits,
            error=result.error,
            unavailable=result.unavailable,
        )
