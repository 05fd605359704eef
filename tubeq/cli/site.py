"""`tubeq site build --out DIR`: the channel and video pages as static HTML (charts inline,
relative links), for analysts who should not reach the server: open ``index.html`` from
``file://``, or put the folder on Cloudflare Pages or in R2.

Artifact links are the store's own: presigned links on R2 (valid for ``--link-days``, at
most 7), ``file://`` links to the local artifacts folder otherwise.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from shared import factory
from shared.errors import TubeqError
from tubeq.cli.context import console, fail, load_settings

site_app = typer.Typer(help="Static HTML exports of the dashboard's pages.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(site_app, name="site")


@site_app.command("build")
def build(
    out: Annotated[Path, typer.Option(help="Folder to write the site to (created).")],
    link_days: Annotated[
        int,
        typer.Option(min=1, max=7, help="How long presigned artifact links stay valid (R2)."),
    ] = 7,
) -> None:
    """Write index.html, channels/<id>.html and videos/<id>.html with charts inline."""
    settings = load_settings()
    try:
        reader = factory.build_results(settings)
        artifacts = factory.build_artifacts(settings)
    except TubeqError as exc:
        fail(exc.message)
    from producer.dashboard.export import write_site  # matplotlib: only when building

    try:
        pages = write_site(reader, artifacts, out, timedelta(days=link_days))
    except TubeqError as exc:
        fail(exc.message)
    finally:
        reader.close()
        artifacts.close()
    console.print(
        f"wrote {pages} pages to {out}; open {(out / 'index.html').resolve().as_uri()}",
        highlight=False,
    )
