"""`tubeq dlq list` / `tubeq dlq redrive`: dead letters are data you can query and requeue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from producer.api.dead_letters import PEEK_NOTE, RESULTS_NOTE, dead_videos, listing_consumes
from shared import factory
from shared.errors import TubeqError
from shared.models import VideoJob
from shared.settings import Settings
from tubeq.cli.context import console, err_console, fail, load_settings

dlq_app = typer.Typer(help="Dead letters: messages that ran out of retries.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def list_dead(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    peek: Annotated[
        bool,
        typer.Option(
            help="Cloudflare: list the dead-letter queue itself. Each peek counts an attempt "
            "there; past its max_retries Cloudflare deletes them. Peek rarely."
        ),
    ] = False,
) -> None:
    """List dead letters with their last error."""
    settings = load_settings()
    queue = factory.build_queue(settings)
    try:
        if listing_consumes(queue) and not peek:
            _print_dead_videos(settings, limit)
            return
        lister = getattr(queue, "peek_dead_letters", None) if peek else None
        dead = lister(limit) if callable(lister) else queue.dead_letters(limit)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        queue.close()
    if peek and listing_consumes(queue):
        err_console.print(f"[yellow]note:[/] {PEEK_NOTE}", highlight=False)
    if not dead:
        console.print("no dead letters")
        return
    table = Table(title=f"dead letters ({len(dead)})")
    table.add_column("message", no_wrap=True)
    table.add_column("video", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("dead since", no_wrap=True)
    table.add_column("last error")
    for d in dead:
        video = d.body.video_id if isinstance(d.body, VideoJob) else str(d.body)[:40]
        table.add_row(
            d.message_id,
            video,
            str(d.attempts),
            d.dead_at.isoformat(timespec="seconds") if d.dead_at else "-",
            _short(d.last_error or "-", 90),
        )
    console.print(table)


def _print_dead_videos(settings: Settings, limit: int) -> None:
    """Cloudflare: dead videos as the result store recorded them (listing is free there)."""
    reader = factory.build_results(settings)
    try:
        videos = dead_videos(reader, limit)
    finally:
        reader.close()
    err_console.print(f"[dim]{RESULTS_NOTE}[/]", highlight=False)
    if not videos:
        console.print("no dead videos recorded")
        return
    table = Table(title=f"dead videos ({len(videos)})")
    table.add_column("video", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("dead since", no_wrap=True)
    table.add_column("last error")
    for v in videos:
        table.add_row(
            v.video_id,
            str(v.attempts),
            v.dead_since.isoformat(timespec="seconds") if v.dead_since else "-",
            _short(f"{v.error_code}: {v.error}", 90),
        )
    console.print(table)


@dlq_app.command("redrive")
def redrive(
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="Message ids to redrive (from `dlq list`).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Redrive every dead letter.")] = False,
) -> None:
    """Put dead letters back on the queue with fresh attempts."""
    if not message_ids and not all_:
        fail("say which: give message ids (see `tubeq dlq list`) or --all")
    if message_ids and all_:
        fail("give message ids or --all, not both")
    settings = load_settings()
    queue = factory.build_queue(settings)
    try:
        # Where listing is free (SQLite), note which videos go back, so `tubeq status`
        # shows them queued again; on Cloudflare the consumer updates them as it goes.
        back: list[VideoJob] = []
        if not listing_consumes(queue):
            wanted = None if all_ else set(message_ids or ())
            back = [
                d.body
                for d in queue.dead_letters(1000)
                if isinstance(d.body, VideoJob) and (wanted is None or d.message_id in wanted)
            ]
        moved = queue.redrive(None if all_ else message_ids)
        if back:
            _mark_queued(settings, back)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        queue.close()
    console.print(f"redrove {moved} message(s)")
    if message_ids and moved < len(message_ids):
        fail(f"{len(message_ids) - moved} of the given ids are not dead letters", code=1)


def _mark_queued(settings: Settings, jobs: list[VideoJob]) -> None:
    reader = factory.build_results(settings)
    try:
        reader.mark_queued(jobs)
    finally:
        reader.close()


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
