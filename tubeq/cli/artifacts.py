"""`tubeq export`, `tubeq url`, `tubeq channels`: a channel's exports, a video's artifacts.

Both print presigned links (or ``file://`` paths with the local store) that anyone can
open until they expire; the lifetime is ``--expires`` (``90s``, ``15m``, ``1h``, ``7d``),
1 second to 7 days, defaulting to TUBEQ_PRESIGN_EXPIRY_S.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shared.artifact_rules import check_link_lifetime, parse_link_lifetime
from shared.errors import InvalidInput, TubeqError
from shared.exports import (
    ChannelExport,
    ReportLink,
    export_channel,
    export_channel_to,
    resolve_channel,
)
from shared.factory import build_artifacts, build_listing_source, build_results
from shared.models import ChannelSummary, VideoState
from shared.ports import ArtifactStore, ChannelDirectory, ResultBackend
from shared.settings import Settings
from shared.video_ids import parse_video_ref
from tubeq.cli.context import JsonOption, console, fail, load_settings, print_json

#: what `--kind` accepts → the artifact kinds it stands for
KIND_CHOICES: dict[str, tuple[str, ...]] = {
    "transcript": ("transcript_json",),
    "transcript_txt": ("transcript_txt",),
    "srt": ("transcript_srt",),
    "vtt": ("transcript_vtt",),
    "report": ("report_md",),
    "all": ("transcript_json", "transcript_txt", "transcript_srt", "transcript_vtt", "report_md"),
}
#: the artifact kinds' own names, which `url` prints and `show` lists, are accepted too
KIND_ALIASES = {kinds[0]: name for name, kinds in KIND_CHOICES.items() if len(kinds) == 1}

ExpiresOption = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="How long the links work: 90s, 15m, 1h, 7d (1 second to 7 days). "
        "Default: TUBEQ_PRESIGN_EXPIRY_S.",
        show_default=False,
    ),
]


def link_lifetime(text: str | None, settings: Settings) -> timedelta:
    try:
        if text is None:
            return check_link_lifetime(timedelta(seconds=settings.presign_expiry_s))
        return parse_link_lifetime(text)
    except InvalidInput as exc:
        fail(f"--expires: {exc.message}")


def _open_results(settings: Settings) -> ResultBackend:
    try:
        return build_results(settings)
    except TubeqError as exc:
        fail(exc.message)


def export_command(
    channel: Annotated[
        str | None,
        typer.Argument(
            help="Channel: @handle, channel URL or UC… id (resolved like backfill). "
            "Omitted: every channel with analyses.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write <channel>.csv and <channel>.jsonl into this folder instead of the "
            "artifact store.",
            file_okay=False,
        ),
    ] = None,
    expires: ExpiresOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export the analyses of a channel (or of all channels) as CSV and JSONL.

    Each row has the video's channel and a link to its report; prints where the files are."""
    settings = load_settings()
    lifetime = link_lifetime(expires, settings)
    wanted = _export_targets(settings, channel)
    results = _open_results(settings)
    try:
        store = build_artifacts(settings)

        def link(key: str) -> str:
            return store.url(key, lifetime)

        if channel is None:
            wanted = [(c.channel_id, c.title) for c in _channel_list(results) if c.analysed]
            if not wanted:
                fail("no channel has analysed videos yet (tubeq backfill CHANNEL, then consume)")
        done = [
            (title, _export_one(results, store, channel_id, out, link))
            for channel_id, title in wanted
        ]
        shown = [
            (
                title,
                e,
                _where(store, e.csv_key, out, lifetime),
                _where(store, e.jsonl_key, out, lifetime),
            )
            for title, e in done
        ]
    except TubeqError as exc:
        fail(exc.message)
    finally:
        results.close()
    if as_json:
        print_json(
            {
                "expires_s": None if out else int(lifetime.total_seconds()),
                "channels": [
                    {"channel_id": e.channel_id, "title": t, "rows": e.rows, "csv": c, "jsonl": j}
                    for t, e, c, j in shown
                ],
            }
        )
        return
    valid = "" if out else f" (links valid for {_human(lifetime)})"
    for title, export, csv_where, jsonl_where in shown:
        name = f"{title} ({export.channel_id})" if title else export.channel_id
        console.print(
            f"exported {export.rows} analysed videos of {name}{valid}:",
            highlight=False,
            markup=False,
        )
        console.print(f"csv:   {csv_where}", highlight=False, soft_wrap=True, markup=False)
        console.print(f"jsonl: {jsonl_where}", highlight=False, soft_wrap=True, markup=False)


def _export_targets(settings: Settings, ref: str | None) -> list[tuple[str, str | None]]:
    """The channel named (any way backfill takes one), resolved to its id; [] for all."""
    if ref is None:
        return []
    try:
        listing = build_listing_source(settings)
    except TubeqError as exc:
        fail(exc.message)

    async def resolve() -> tuple[str, str | None]:
        try:
            return await resolve_channel(listing, ref)
        finally:
            await listing.aclose()

    try:
        return [asyncio.run(resolve())]
    except TubeqError as exc:
        fail(exc.message)


def _export_one(
    results: ResultBackend,
    store: ArtifactStore,
    channel_id: str,
    out: Path | None,
    link: ReportLink,
) -> ChannelExport:
    if out is not None:
        return export_channel_to(results, out, channel_id, link)
    return export_channel(results, store, channel_id, link)


def _where(store: ArtifactStore, key: str, out: Path | None, lifetime: timedelta) -> str:
    return key if out is not None else store.url(key, lifetime)


def _channel_list(results: ResultBackend) -> list[ChannelSummary]:
    if not isinstance(results, ChannelDirectory):
        fail(
            f"the {results.name} result store cannot list its channels here: name one "
            "(tubeq export @handle), or query the channel_overview view"
        )
    return results.channels()


def channels_command(as_json: JsonOption = False) -> None:
    """List the channels the result store has videos of, with counts per state."""
    settings = load_settings()
    results = _open_results(settings)
    try:
        found = _channel_list(results)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        results.close()
    if as_json:
        print_json({"channels": [c.model_dump(mode="json") for c in found]})
        return
    if not found:
        console.print("no channels yet: tubeq backfill @handle (or enqueue videos) first")
        return
    table = Table(title=f"channels ({len(found)})")
    table.add_column("channel", overflow="fold")
    table.add_column("id", no_wrap=True)
    table.add_column("videos", justify="right")
    table.add_column("done", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("pending", justify="right")
    table.add_column("newest", no_wrap=True)
    for c in found:
        newest = c.last_published.date().isoformat() if c.last_published else "-"
        table.add_row(
            c.title or "?",
            c.channel_id,
            str(c.videos),
            str(c.analysed),
            str(c.failed),
            str(c.pending),
            newest,
        )
    console.print(table)


def url_command(
    video: Annotated[str, typer.Argument(help="Video id or YouTube URL.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="Which artifact: "
            + ", ".join(KIND_CHOICES)
            + " (or its full name, as listed: "
            + ", ".join(KIND_ALIASES)
            + ").",
            case_sensitive=False,
        ),
    ] = "all",
    expires: ExpiresOption = None,
) -> None:
    """Print download links for a finished video's transcript files and report."""
    settings = load_settings()
    name = KIND_ALIASES.get(kind.lower(), kind.lower())
    wanted = KIND_CHOICES.get(name)
    if wanted is None:
        fail(f"--kind {kind!r} is not one of: {', '.join(KIND_CHOICES)}")
    lifetime = link_lifetime(expires, settings)
    try:
        video_id = parse_video_ref(video)
    except InvalidInput as exc:
        fail(exc.message)
    results = _open_results(settings)
    try:
        status = results.get_video(video_id)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        results.close()
    if status is None:
        fail(f"video {video_id} is not in the results: enqueue it first (tubeq enqueue {video_id})")
    if status.state is not VideoState.DONE:
        fail(
            f"video {video_id} is {status.state.value}, not done: its files exist once it has "
            f"been analysed (see tubeq show {video_id})"
        )
    refs = [ref for ref in status.artifacts if ref.kind in wanted]
    if not refs:
        have = ", ".join(sorted(ref.kind for ref in status.artifacts)) or "none"
        fail(f"video {video_id} has no {name} artifact (it has: {have})")
    try:
        store = build_artifacts(settings)
        # each named as `show` names it (report_md, transcript_srt…): one name per artifact
        links = [(ref.kind, store.url(ref.key, lifetime)) for ref in refs]
    except TubeqError as exc:
        fail(exc.message)
    if len(links) == 1:
        # One link alone, so `$(tubeq url ID --kind report)` gives a usable URL.
        console.print(links[0][1], highlight=False, soft_wrap=True, markup=False)
        return
    width = max(len(k) for k, _ in links)
    for kind_name, link in links:
        console.print(
            f"{kind_name:<{width}}  {link}", highlight=False, soft_wrap=True, markup=False
        )


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def register(app: typer.Typer) -> None:
    """Add `export` and `url` to the tubeq CLI."""
    app.command("export")(export_command)
    app.command("url")(url_command)
    app.command("channels")(channels_command)
