"""`tubeq export` and `tubeq url`: links to a channel's exports and to a video's artifacts.

Both print presigned links (or ``file://`` paths with the local store) that anyone can
open until they expire; the lifetime is ``--expires`` (``90s``, ``15m``, ``1h``, ``7d``),
1 second to 7 days, defaulting to TUBEQ_PRESIGN_EXPIRY_S.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from shared.artifact_rules import check_link_lifetime, parse_link_lifetime
from shared.errors import InvalidInput, TubeqError
from shared.exports import export_channel
from shared.factory import build_artifacts, build_results
from shared.models import VideoState
from shared.ports import ResultBackend
from shared.settings import Settings
from shared.video_ids import parse_video_ref
from tubeq.cli.context import console, fail, load_settings

#: what `--kind` accepts → the artifact kinds it stands for
KIND_CHOICES: dict[str, tuple[str, ...]] = {
    "transcript": ("transcript_json",),
    "transcript_txt": ("transcript_txt",),
    "srt": ("transcript_srt",),
    "vtt": ("transcript_vtt",),
    "report": ("report_md",),
    "all": ("transcript_json", "transcript_txt", "transcript_srt", "transcript_vtt", "report_md"),
}

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
    channel: Annotated[str, typer.Argument(help="YouTube channel id, e.g. UCxxxx.")],
    expires: ExpiresOption = None,
) -> None:
    """Export all analyses of a channel as CSV and JSONL, and print links to both."""
    settings = load_settings()
    lifetime = link_lifetime(expires, settings)
    results = _open_results(settings)
    try:
        store = build_artifacts(settings)
        export = export_channel(results, store, channel)
        csv_url = store.url(export.csv_key, lifetime)
        jsonl_url = store.url(export.jsonl_key, lifetime)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        results.close()
    console.print(
        f"exported {export.rows} analysed videos of {export.channel_id} "
        f"(links valid for {_human(lifetime)}):",
        highlight=False,
    )
    console.print(f"csv:   {csv_url}", highlight=False, soft_wrap=True, markup=False)
    console.print(f"jsonl: {jsonl_url}", highlight=False, soft_wrap=True, markup=False)


def url_command(
    video: Annotated[str, typer.Argument(help="Video id or YouTube URL.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="Which artifact: " + ", ".join(KIND_CHOICES) + ".",
            case_sensitive=False,
        ),
    ] = "all",
    expires: ExpiresOption = None,
) -> None:
    """Print download links for a finished video's transcript files and report."""
    settings = load_settings()
    wanted = KIND_CHOICES.get(kind.lower())
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
        fail(f"video {video_id} has no {kind} artifact (it has: {have})")
    try:
        store = build_artifacts(settings)
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
