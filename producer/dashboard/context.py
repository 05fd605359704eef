"""What every dashboard route is given (``Dashboard``: the ports it reads, its access rule,
its links) and the three answers every page route may give: a page, an error page, or the
gate's login redirect / 403. Kept apart from the routes so route modules can share it
without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from producer.api.offload import Offload
from producer.dashboard.access import COOKIE, Access, Role
from producer.dashboard.links import ServerLinks
from producer.dashboard.render import render
from producer.dashboard.searching import SearchBox
from shared.ports import ApiQueue, ArtifactStore, BudgetMeter, ResultReader
from shared.settings import Settings

SECURITY_HEADERS = {
    # matplotlib's SVG carries inline style attributes; scripts come only from here
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Dashboard:
    settings: Settings
    queue: ApiQueue
    reader: ResultReader
    artifacts: ArtifactStore
    call: Offload
    access: Access
    search: SearchBox
    links: ServerLinks = field(default_factory=ServerLinks)
    #: reads the model quota in use (the overview's panel); None: not shown
    meter: BudgetMeter | None = None

    def page(self, request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
        role = self.access.role(request)
        body = render(
            template,
            links=self.links,
            role=role.value if role else None,
            can_logout=role is not None and not self.access.open,
            csrf=self.access.csrf_token(request),
            **ctx,
        )
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def error(self, request: Request, status: int, heading: str, message: str) -> Response:
        return self.page(
            request, "error.html", status, heading=heading, message=message, status_code=status
        )

    def gate(self, request: Request) -> Role | Response:
        """The caller's role, or the answer to give instead (login form, or 403)."""
        role = self.access.role(request)
        if role is not None:
            return role
        if self.access.bearer(request) is not None or request.cookies.get(COOKIE):
            response = self.error(
                request, 403, "Not allowed", "this key is not accepted here: log in again"
            )
            response.delete_cookie(COOKIE, path="/")
            return response
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
