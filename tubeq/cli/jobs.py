"""`tubeq enqueue`, `consume`, `status`, `show`: the everyday commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from producer.enqueue import Rejected, enqueue_refs, parse_refs, read_numbered_lines
from shared import factory
from shared.errors import InvalidInput, TubeqError
from shared.fleet_view import FleetView, read_fleet
from shared.models import Progress, QueueStats, VideoState, VideoStatus
from shared.ports import Queue, ResultReader
from tubeq.cli.artifacts import ExpiresOption, link_lifetime
from tubeq.cli.batch import in_flight as batches_in_flight
from tubeq.cli.batch import in_flight_line
from tubeq.cli.consume import consume
from tubeq.cli.context import (
    JsonOption,
    console,
    err_console,
    fail,
    load_settings,
    print_json,
    shorten,
)
from tubeq.cli.fleet import fleet_json, fleet_parts, open_meter
from tubeq.cli.live import watch_status
from tubeq.cli.templates import SUMMARY, TemplateOption, check_template


def register(app: typer.Typer) -> None:
    app.command()(enqueue)
    app.command()(consume)  # tubeq.cli.consume
    app.command()(status)
    app.command()(show)


def _read_file(path: str) -> list[tuple[int, str]]:
    if path == "-":
        return read_numbered_lines(sys.stdin.read())
    p = Path(path)
    if not p.is_file():
        fail(
            f"{path}: no such file (give a file with one video id or URL per line, or - for stdin)"
        )
    try:
        return read_numbered_lines(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        fail(f"{path}: not a UTF-8 text file (give one video id or URL per line)")


def enqueue(
    refs: Annotated[list[str] | None, typer.Argument(help="Video ids or URLs.")] = None,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="A file with one id or URL per line; - for stdin."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-analyse even if already analysed.")] = False,
    template: TemplateOption = SUMMARY,
) -> None:
    """Put videos on the queue. Bad inputs are reported; the good ones are enqueued anyway.

    Exit code: 0 all enqueued, 1 some inputs rejected, 2 nothing valid (or no such template).
    """
    settings = load_settings()
    check_template(settings, template)
    items = list(refs or [])
    lines: list[int | None] = [None] * len(items)
    if file is not None:
        from_file = _read_file(file)
        if not from_file:
            fail(f"{file}: no video ids in it (one id or URL per line; # starts a comment)")
        items += [ref for _, ref in from_file]
        lines += [number for number, _ in from_file]
    if not items:
        fail("nothing to enqueue: give video ids or URLs, or --file PATH (- for stdin)")
    queue = factory.build_queue(settings)
    reader = factory.build_results(settings)
    try:
        before = _known_states(reader, items)
        report = enqueue_refs(
            queue, reader, items, source="cli", force=force, lines=lines, template=template
        )
    except InvalidInput as exc:
        fail(exc.message)
    except TubeqError as exc:
        fail(f"could not enqueue: {exc.message}")
    finally:
        queue.close()
        reader.close()
    what = "" if template == SUMMARY else f" for template {template}"
    console.print(f"[green]enqueued {len(report.accepted)} video(s){what}[/]")
    if template == SUMMARY:  # what a done state means is the summary's
        _say_what_was_there(items, report.accepted, report.rejected, before, force)
    for bad in report.rejected:
        err_console.print(f"[yellow]rejected[/] {bad.where()}: {bad.reason}", highlight=False)
    if report.rejected:
        raise typer.Exit(1)


def _known_states(reader: ResultReader, items: list[str]) -> dict[str, VideoState]:
    """The states the given videos had before this enqueue (a failed read says nothing)."""
    ids = parse_refs(items).video_ids
    try:
        return reader.states(ids) if ids else {}
    except TubeqError:
        return {}


def _say_what_was_there(
    items: list[str],
    accepted: list[str],
    rejected: list[Rejected],
    before: dict[str, VideoState],
    force: bool,
) -> None:
    """Tell the operator what the enqueue did not change: an id given twice is one job, a
    done video is skipped by the consumer (unless forced), a queued one runs once."""
    repeats = len(items) - len(rejected) - len(accepted)
    if repeats:
        err_console.print(f"{repeats} duplicate input(s) in this batch: each video is one job")
    done = [v for v in accepted if before.get(v) is VideoState.DONE]
    if done and not force:
        err_console.print(
            f"{len(done)} already analysed ({_some(done)}): the consumer skips them unless "
            "the analysis version changed; --force re-analyses",
            highlight=False,
        )
    waiting = (VideoState.QUEUED, VideoState.PROCESSING, VideoState.RETRYING)
    pending = [v for v in accepted if before.get(v) in waiting]
    if pending:
        err_console.print(
            f"{len(pending)} already queued or in progress ({_some(pending)}): "
            "each is analysed once",
            highlight=False,
        )


def _some(ids: list[str], shown: int = 3) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def spend_lines(progress: Progress) -> str:
    """What was spent: every billed model call (the spend ledger, failed videos' calls
    too), then what the saved analyses cost, when that differs."""
    u, kept = progress.usage, progress.analysis_usage
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(progress.calls_by_outcome.items()))
    since = f" since {progress.first_day}" if progress.first_day else ""
    lines = [
        f"spend{since}: {u.model_calls} model calls"
        + (f" ({outcomes})" if outcomes else "")
        + f"; tokens in {u.prompt_tokens:,}, out {u.output_tokens:,}, thinking "
        f"{u.thinking_tokens:,}; cost ${u.cost_usd:.4f}",
        f"analyses: {progress.analyses}",
    ]
    if kept != u:
        # the difference bought replies that were not kept (invalid, truncated, refused)
        lines[-1] += f"; the saved ones cost ${kept.cost_usd:.4f} in {kept.model_calls} calls"
    return "\n".join(lines)


def status(
    failures: Annotated[int, typer.Option(help="How many recent failures to list.")] = 10,
    watch: Annotated[
        bool, typer.Option("--watch", help="Redraw every --interval seconds until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between redraws with --watch.", min=0.2)
    ] = 2.0,
    as_json: JsonOption = False,
) -> None:
    """Counts per state, queue backlog, tokens and cost, recent failures, the consumers
    running now and the model quota in use."""
    if watch and as_json:
        fail("--watch redraws a table; for JSON run `tubeq status --json` repeatedly")
    settings = load_settings()
    reader = factory.build_results(settings)
    queue = factory.build_queue(settings)
    meter = open_meter(settings)  # the model quota in use: a read, never a grant
    try:
        if watch:
            watch_status(
                lambda: status_view(
                    *_read_status(reader, queue, failures), read_fleet(reader, meter)
                ),
                interval,
            )
            return
        progress, qstats, recent = _read_status(reader, queue, failures)
        fleet = read_fleet(reader, meter)
    finally:
        reader.close()
        queue.close()
        if meter is not None:
            meter.close()
    batches = batches_in_flight(settings)  # issue 12: Gemini batches still waiting
    if as_json:
        print_json(
            {"progress": progress, "queue": qstats, "recent_failures": recent}
            | fleet_json(fleet)
            | ({"batches_in_flight": batches} if batches is not None else {})
        )
        return
    console.print(status_view(progress, qstats, recent, fleet))
    line = in_flight_line(batches)
    if line:
        console.print(line)


def _read_status(
    reader: ResultReader, queue: Queue, failures: int
) -> tuple[Progress, QueueStats, list[VideoStatus]]:
    try:
        return reader.progress(), queue.stats(), reader.failures(failures)
    except TubeqError as exc:
        fail(exc.message)


def status_view(
    progress: Progress,
    qstats: QueueStats,
    recent: list[VideoStatus],
    fleet: FleetView | None = None,
) -> Group:
    """What `tubeq status` prints (and `--watch` redraws)."""
    parts: list[RenderableType] = []
    table = Table(title="videos by state")
    table.add_column("state")
    table.add_column("videos", justify="right")
    for state, count in sorted(progress.by_state.items()):
        table.add_row(state, str(count))
    table.add_row("[bold]total[/]", f"[bold]{progress.total_videos}[/]")
    parts.append(table)
    finished = progress.by_state.get("done", 0) + progress.by_state.get("failed", 0)
    finished += progress.by_state.get("dead", 0)
    if progress.total_videos:
        share = 100 * finished / progress.total_videos
        parts.append(f"progress: {finished}/{progress.total_videos} finished ({share:.0f}%)")
    parts.append(
        Text(
            f"queue: {qstats.ready} ready, {qstats.delayed} delayed, {qstats.in_flight} in "
            f"flight, {qstats.dead} dead letters\n{spend_lines(progress)}"
        )
    )
    if recent:
        ft = Table(title="recent failures")
        ft.add_column("video", no_wrap=True)
        ft.add_column("state")
        ft.add_column("attempts", justify="right")
        ft.add_column("error")
        for v in recent:
            error = shorten(f"{v.error_code}: {v.error}", 100)
            ft.add_row(v.video_id, v.state.value, str(v.attempts), Text(error))
        parts.append(ft)
    if fleet is not None:
        parts += fleet_parts(fleet)
    return Group(*parts)


def show(
    video: Annotated[str, typer.Argument(help="A video id or URL.")],
    expires: ExpiresOption = None,
    as_json: JsonOption = False,
) -> None:
    """One video: its state, channel, analysis and artifact links."""
    settings = load_settings()
    lifetime = link_lifetime(expires, settings)  # checked before anything is printed
    try:
        from shared.video_ids import parse_video_ref

        video_id = parse_video_ref(video)
    except InvalidInput as exc:
        fail(exc.message)
    reader = factory.build_results(settings)
    try:
        found = reader.get_video(video_id)
    finally:
        reader.close()
    if found is None:
        fail(f"{video_id} is unknown here: enqueue it first (tubeq enqueue {video_id})")
    artifacts = factory.build_artifacts(settings)
    try:
        links = {art.key: artifacts.url(art.key, lifetime) for art in found.artifacts}
    except TubeqError as exc:
        fail(exc.message)
    if as_json:
        payload = found.model_dump(mode="json")
        for item in payload["artifacts"]:
            item["url"] = links[item["key"]]
        print_json(payload)
        return
    console.print(render_video(found))
    for art in found.artifacts:
        console.print(
            f"[bold]{art.kind}[/] ({art.content_type}, {art.size:,} B): {links[art.key]}",
            soft_wrap=True,
        )


def render_video(v: VideoStatus) -> Panel:
    meta = v.meta
    lines = [f"[bold]state[/]: {v.state.value}   attempts: {v.attempts}"]
    if meta is not None:
        lines.append(f"[bold]title[/]: {escape(meta.title or '?')}")
        channel = escape(meta.channel_title or "title unknown")
        lines.append(f"[bold]channel[/]: {channel} ({meta.channel_id or 'id unknown'})")
    else:
        lines.append("[bold]channel[/]: not known yet (the consumer reads it with the video)")
    if v.error:
        lines.append(f"[bold red]error[/]: {v.error_code}: {v.error}")
    a = v.analysis
    if a is not None:
        lines += [
            f"[bold]analyzer[/]: {a.analyzer}  model: {a.model or '-'}  "
            f"version: {a.analysis_version}  language: {a.language}",
            f"[bold]summary[/]: {a.summary}",
            "[bold]key points[/]:",
            *[f"  • {p}" for p in a.key_points],
            f"[bold]topics[/]: {', '.join(a.topics)}",
            "[bold]quotes[/]:",
            *[f"  [{_clock(q.start_s)}] “{q.text}”" for q in a.quotes],
            f"[bold]usage[/]: {a.usage.prompt_tokens:,} in / {a.usage.output_tokens:,} out, "
            f"${a.usage.cost_usd:.4f}",
        ]
    return Panel("\n".join(lines), title=v.video_id, expand=False)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
