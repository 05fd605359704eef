"""`tubeq embed`: send ``video.embed`` jobs for videos already analysed (semantic search's
backfill); the consumer embeds them, paying only for texts not embedded yet."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.embeddings import EmbedVideoJob
from shared.errors import TubeqError
from shared.factory import build_queue, build_vectors
from shared.settings import Settings
from shared.video_ids import parse_video_ref
from tubeq.cli.context import JsonOption, console, fail, load_settings, print_json
from tubeq.cli.search import ChannelOption, _channel_id

EMBED_HELP = (
    "Embed analysed videos for semantic search: sends one video.embed job per video "
    "(run `tubeq consume` to embed them).\n\n"
    "Needs TUBEQ_EMBEDDING_BACKEND=gemini. Each job embeds only the passages not embedded "
    "yet with TUBEQ_EMBEDDING_MODEL at TUBEQ_EMBEDDING_DIMENSIONS, so running it again "
    "costs nothing; every embedding call is recorded in the spend ledger."
)


def register(app: typer.Typer) -> None:
    app.command("embed", help=EMBED_HELP)(embed_command)


def embed_command(
    videos: Annotated[
        list[str] | None,
        typer.Argument(help="Video ids or URLs (already analysed).", show_default=False),
    ] = None,
    channel: ChannelOption = None,
    all_videos: Annotated[
        bool, typer.Option("--all", help="Every analysed video in the result store.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send video.embed jobs (``EMBED_HELP``)."""
    settings = load_settings()
    if settings.embedding_backend == "none":
        fail(
            "semantic search is off: set TUBEQ_EMBEDDING_BACKEND=gemini (with "
            "TUBEQ_GEMINI_API_KEY) for `tubeq embed` and the consumer that runs its jobs"
        )
    if not videos and channel is None and not all_videos:
        fail("say which videos: ids or URLs, --channel @handle, or --all")
    ids = _video_ids(settings, videos or [], channel, all_videos)
    if not ids:
        fail("no analysed video to embed (analyse some first: tubeq enqueue …)", code=1)
    try:
        queue = build_queue(settings)
        try:
            sent = queue.send([EmbedVideoJob(video_id=v, source="cli") for v in ids])
        finally:
            queue.close()
    except TubeqError as exc:
        fail(exc.message)
    if as_json:
        print_json({"sent": sent, "video_ids": ids, "model": settings.embedding_model})
        return
    console.print(
        f"sent {sent} video.embed job(s) for {settings.embedding_model} "
        f"({settings.embedding_dimensions} dimensions); run `tubeq consume` to embed them",
        highlight=False,
    )


def _video_ids(
    settings: Settings, videos: list[str], channel: str | None, all_videos: bool
) -> list[str]:
    ids: list[str] = []
    for raw in videos:
        try:
            ids.append(parse_video_ref(raw))
        except TubeqError as exc:
            fail(exc.message)
    if channel is not None or all_videos:
        channel_id = _channel_id(settings, channel) if channel is not None else None
        try:
            vectors = build_vectors(settings)
            try:
                ids += vectors.analysed_videos(channel_id)
            finally:
                vectors.close()
        except TubeqError as exc:
            fail(exc.message)
    return list(dict.fromkeys(ids))
