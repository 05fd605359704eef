"""`tubeq dlq list` / `tubeq dlq redrive`: dead letters are data you can query and requeue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shared import factory
from shared.dead_letters import (
    PEEK_NOTE,
    dead_videos,
    queue_dead_letters,
    redrive_and_mark,
    redrive_videos,
)
from shared.errors import InvalidInput, TubeqError
from shared.jobs import Job
from shared.models import DeadLetter
from shared.settings import Settings
from shared.video_ids import is_video_id, parse_video_ref
from tubeq.cli.context import (
    JsonOption,
    console,
    err_console,
    fail,
    load_settings,
    print_json,
    shorten,
)

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
    as_json: JsonOption = False,
) -> None:
    """List dead letters with their last error."""
    settings = load_settings()
    queue = factory.build_queue(settings)
    try:
        if queue.dead_letter_listing_consumes and not peek:
            _print_dead_videos(settings, limit, as_json)
            return
        dead = queue_dead_letters(queue, limit, peek=peek)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        queue.close()
    if peek and queue.dead_letter_listing_consumes:
        err_console.print(f"[yellow]note:[/] {PEEK_NOTE}", highlight=False)
    if as_json:
        print_json({"source": "queue", "dead_letters": [_letter_json(d) for d in dead]})
        return
    if not dead:
        console.print("no dead letters")
        return
    table = Table(title=f"dead letters ({len(dead)})")
    # Fits 80 columns: the message id may wrap, the error keeps room to be read.
    table.add_column("message", overflow="fold", max_width=12)
    table.add_column("video", no_wrap=True)
    table.add_column("tries", justify="right")
    table.add_column("dead since", max_width=10)
    table.add_column("last error", min_width=20, ratio=1)
    for d in dead:
        video = d.body.label if isinstance(d.body, Job) else str(d.body)[:40]
        table.add_row(
            d.message_id,
            video,
            str(d.attempts),
            d.dead_at.strftime("%Y-%m-%d %H:%M") if d.dead_at else "-",
            shorten(d.last_error or "-", 90),
        )
    console.print(table)


def _letter_json(d: DeadLetter) -> dict[str, object]:
    body = d.body
    return {
        "message_id": d.message_id,
        "video_id": getattr(body, "video_id", None) if isinstance(body, Job) else None,
        "kind": body.kind if isinstance(body, Job) else None,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "enqueued_at": d.enqueued_at,
        "dead_at": d.dead_at,
    }


def _print_dead_videos(settings: Settings, limit: int, as_json: bool = False) -> None:
    """Cloudflare: dead videos as the result store recorded them (listing is free there)."""
    reader = factory.build_results(settings)
    try:
        videos = dead_videos(reader, limit)
    finally:
        reader.close()
    if as_json:
        print_json({"source": "results", "dead_videos": videos})
        return
    err_console.print(
        "[dim]dead videos from the result store (listing Cloudflare's dead-letter queue "
        "would count an attempt on each letter). Redrive them with `tubeq dlq redrive --all` "
        "before the queue's retention period lapses; `tubeq dlq list --peek` shows message "
        "ids, at that cost.[/]",
        highlight=False,
    )
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
            shorten(f"{v.error_code}: {v.error}", 90),
        )
    console.print(table)


@dlq_app.command("redrive")
def redrive(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Message ids (from `dlq list`) or video ids/URLs to redrive.",
            show_default=False,
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Redrive every dead letter.")] = False,
) -> None:
    """Put dead letters back on the queue with fresh attempts: all, or those of the given
    messages or videos.

    Exit code: 0 all redriven, 1 some given ids had no dead letter, 2 usage.
    """
    if not ids and not all_:
        fail("say which: give message ids or video ids (see `tubeq dlq list`) or --all")
    if ids and all_:
        fail("give ids or --all, not both")
    message_ids, video_ids = _split_ids(ids or [])
    settings = load_settings()
    queue = factory.build_queue(settings)
    reader = factory.build_results(settings)
    missing: list[str] = []
    try:
        moved = 0
        if all_ or message_ids:
            moved = redrive_and_mark(queue, reader, None if all_ else message_ids)
            if message_ids and moved < len(message_ids):
                missing.append(f"{len(message_ids) - moved} of the given message ids")
        if video_ids:
            report = redrive_videos(queue, reader, video_ids)
            moved += len(report.redriven)
            missing += report.not_dead
    except TubeqError as exc:
        fail(exc.message)
    finally:
        queue.close()
        reader.close()
    console.print(f"redrove {moved} message(s)")
    if missing:
        fail(f"no dead letter for: {', '.join(missing)}", code=1)


def _split_ids(ids: list[str]) -> tuple[list[str], list[str]]:
    """Message ids (32 hex on SQLite, longer on Cloudflare) apart from video ids and URLs
    (11 characters, or a YouTube link): the two never look alike."""
    messages: list[str] = []
    videos: list[str] = []
    for raw in ids:
        if is_video_id(raw) or "/" in raw:
            try:
                videos.append(parse_video_ref(raw))
            except InvalidInput as exc:
                fail(exc.message)
        else:
            messages.append(raw)
    return messages, videos
