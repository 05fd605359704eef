"""``GET /v1/videos/{id}/artifacts/{kind}``: a stable link to an artifact (for Supabase
users and the video page), answered with a 307 to a fresh presigned link on R2 or to this
server's ``/files/…`` route where artifacts are local files. Either role may read; a bearer
key or the login cookie. Errors are JSON, as the API's are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from producer.dashboard.access import COOKIE
from shared.errors import ArtifactNotFound, InvalidInput
from shared.video_ids import parse_video_ref

if TYPE_CHECKING:
    from producer.dashboard.context import Dashboard


def _refusal(d: Dashboard, request: Request) -> Response | None:
    if d.access.role(request) is not None:
        return None
    if d.access.bearer(request) is None and not request.cookies.get(COOKIE):
        if "text/html" in request.headers.get("accept", ""):
            # a click in Supabase Studio or a mail: log in, then come back to the file
            back = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={back}", status_code=303)
        return JSONResponse(
            {
                "error": "unauthorized",
                "message": "send `Authorization: Bearer <key>` or log in at /login",
            },
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return JSONResponse({"error": "forbidden", "message": "this key is not accepted"}, 403)


async def _find_key(d: Dashboard, video_id: str, kind: str) -> tuple[str, str] | Response:
    try:
        vid = parse_video_ref(video_id)
    except InvalidInput as exc:
        return JSONResponse({"error": "invalid_input", "message": exc.message}, 400)
    found = await d.call(d.reader.get_video, vid)
    ref = next((a for a in (found.artifacts if found else ()) if a.kind == kind), None)
    if ref is None:
        kinds = ", ".join(a.kind for a in found.artifacts) if found else ""
        what = f"video {vid} has no {kind!r} artifact"
        return JSONResponse(
            {"error": "not_found", "message": what + (f" (it has: {kinds})" if kinds else "")},
            404,
        )
    return vid, ref.key


def artifact_routes(router: APIRouter, d: Dashboard) -> None:
    @router.get("/v1/videos/{video_id}/artifacts/{kind}", tags=["status"])
    async def artifact_link(request: Request, video_id: str, kind: str) -> Response:
        """A stable link: 307 to a fresh presigned link (R2) or this server's file route."""
        refusal = _refusal(d, request)
        if refusal is not None:
            return refusal
        found = await _find_key(d, video_id, kind)
        if isinstance(found, Response):
            return found
        vid, key = found
        lifetime = timedelta(seconds=d.settings.presign_expiry_s)
        try:
            url: str = await d.call(d.artifacts.url, key, lifetime)
        except ArtifactNotFound as exc:
            return JSONResponse({"error": "not_found", "message": exc.message}, 404)
        if url.startswith("file:"):
            # a browser will not follow an http page to a file: link; serve it from here
            url = f"/files/{quote(vid)}/{quote(kind, safe='')}"
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})

    @router.get("/files/{video_id}/{kind}")
    async def artifact_file(request: Request, video_id: str, kind: str) -> Response:
        """A local artifact's bytes (what R2's presigned link gives on R2)."""
        refusal = _refusal(d, request)
        if refusal is not None:
            return refusal
        found = await _find_key(d, video_id, kind)
        if isinstance(found, Response):
            return found
        vid, key = found
        try:
            data: bytes = await d.call(d.artifacts.get, key)
            content_type: str = await d.call(d.artifacts.content_type, key)
        except ArtifactNotFound as exc:
            return JSONResponse({"error": "not_found", "message": exc.message}, 404)
        name = key.rsplit("/", 1)[-1]
        return Response(
            data,
            media_type=content_type,
            headers={
                "Content-Disposition": f'inline; filename="{vid}-{name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
