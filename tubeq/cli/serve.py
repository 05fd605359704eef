"""`tubeq serve`: the HTTP API under uvicorn, over the configured adapters."""

from __future__ import annotations

from typing import Annotated

import typer

from shared import factory
from shared.errors import TubeqError
from tubeq.cli.context import err_console, fail, load_settings

LOOPBACK = "127.0.0.1"


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default TUBEQ_API_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port to bind (default TUBEQ_API_PORT, 8787).", min=1, max=65535),
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Run without API keys (local try-outs only): binds 127.0.0.1 and nothing else.",
        ),
    ] = False,
) -> None:
    """Run the HTTP API (docs at /docs). Needs TUBEQ_API_KEYS unless --insecure-no-auth."""
    settings = load_settings()
    bind_host = host or settings.api_host
    bind_port = port or settings.api_port
    if not settings.api_keys:
        if not insecure_no_auth:
            fail(
                "TUBEQ_API_KEYS is empty, so anyone could use the API: set one or more keys "
                "(comma-separated; e.g. `openssl rand -hex 32`), or pass --insecure-no-auth "
                "for a local try-out (it binds 127.0.0.1 only)"
            )
        if host is not None and host != LOOPBACK:
            fail(f"--insecure-no-auth binds {LOOPBACK} only; drop --host {host} or set API keys")
        bind_host = LOOPBACK
        err_console.print(
            f"[yellow]warning:[/] no API keys: the API is open to anyone on this machine "
            f"(bound to {LOOPBACK} only)",
            highlight=False,
        )

    import uvicorn

    from producer.api import create_app

    try:
        queue = factory.build_queue(settings)
        results = factory.build_results(settings)
        artifacts = factory.build_artifacts(settings)
        app = create_app(settings, queue, results, artifacts, insecure_no_auth=insecure_no_auth)
    except TubeqError as exc:
        fail(exc.message)
    err_console.print(f"tubeq API on http://{bind_host}:{bind_port} (docs at /docs)")
    try:
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
            server_header=False,
        )
    finally:
        queue.close()
        results.close()
        artifacts.close()
