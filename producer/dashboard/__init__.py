"""The web dashboard (issue 10): server-rendered pages on the API's app, for operators
(overview, dead letters, redrive) and analysts (channels, videos, search).

``mount_dashboard`` adds the pages, their static files and an offline ``/docs`` to an app
built by ``producer.api.create_app``; ``tubeq site build`` renders the same templates to
static files. Modules: ``access`` (keys, cookie, CSRF), ``overview`` and ``pages`` (what a
page shows, read through the ports), ``template_views`` (a video's template results),
``charts`` (matplotlib SVG), ``links`` (server or export paths), ``render`` (templates),
``routes``, ``searching``, ``docs``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from producer.api.offload import Offload
from producer.dashboard.access import Access
from producer.dashboard.context import Dashboard
from producer.dashboard.docs import mount_docs
from producer.dashboard.render import STATIC_DIR
from producer.dashboard.routes import build_router
from producer.dashboard.searching import SearchBox, Searcher, factory_builder
from shared.ports import ApiQueue, ArtifactStore, BudgetMeter, ResultReader
from shared.settings import Settings

__all__ = ["mount_dashboard"]


def mount_dashboard(
    app: FastAPI,
    settings: Settings,
    queue: ApiQueue,
    reader: ResultReader,
    artifacts: ArtifactStore,
    call: Offload,
    *,
    search: Callable[[], Searcher] | None = None,
    meter: BudgetMeter | None = None,
) -> Dashboard:
    """Add the dashboard to ``app``; ``search`` makes the search engine (by default the
    factory's ``build_search``, where it exists); ``meter`` reads the model quota in use
    for the overview (the app's, which closes it)."""
    box = SearchBox(search if search is not None else factory_builder(settings))
    dashboard = Dashboard(
        settings=settings,
        queue=queue,
        reader=reader,
        artifacts=artifacts,
        call=call,
        access=Access(settings.api_keys, settings.analyst_keys),
        search=box,
        meter=meter,
    )
    app.include_router(build_router(dashboard))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    mount_docs(app)
    app.router.on_shutdown.append(box.close)
    return dashboard
