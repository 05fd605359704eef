"""``/docs`` offline: Swagger UI from the ``swagger-ui-bundle`` package, not a CDN.

That package ships Swagger UI 4.15, which refuses an ``openapi: 3.1.0`` document ("does not
specify a valid version field"); FastAPI writes 3.1. So the docs page reads a copy labelled
3.0.3 (``/docs/openapi.json``: the same paths and schemas, which 4.15 renders), and
``/openapi.json`` itself stays exactly what FastAPI makes.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
PREFIX = "/docs-assets"
#: the newest OpenAPI version the bundled Swagger UI reads
SWAGGER_UI_OPENAPI = "3.0.3"


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI's files and a ``/docs`` page that loads them from here (the app
    is built with ``docs_url=None`` so FastAPI's CDN page is not there)."""
    app.mount(PREFIX, StaticFiles(directory=SWAGGER_DIR), name="docs-assets")

    @app.get("/docs/openapi.json", include_in_schema=False)
    async def docs_openapi() -> JSONResponse:
        return JSONResponse(app.openapi() | {"openapi": SWAGGER_UI_OPENAPI})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/docs/openapi.json",
            title=f"{app.title} · API docs",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon-32x32.png",
        )
