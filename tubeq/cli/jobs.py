"""`tubeq enqueue`, `consume`, `status`, `show`: the everyday commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from consumer.main import build_consumer, install_signal_handlers
from consumer.runner import MessageResult
from producer.enqueue import enqueue_refs, read_numbered_lines
from shared import factory
from shared.errors import InvalidInput, TubeqError
from shared.models import Progress, VideoStatus
from shared.retry_policy import Action
from tubeq.cli.artifacts import ExpiresOption, link_lifetime
from tubeq.cli.context import console, err_console, fail, load_settings, shorten


def register(app: typer.Typer) -> None:
    app.command()(enqueue)
    app.command()(consume)
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
) -> None:
    """Put videos on the queue. Bad inputs are reported; the good ones are enqueued anyway.

    Exit code: 0 all enqueued, 1 some inputs rejected, 2 nothing valid.
    """
    settings = load_settings()
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
        report = enqueue_refs(queue, reader, items, source="cli", force=force, lines=lines)
    except InvalidInput as exc:
        fail(exc.message)
    except TubeqError as exc:
        fail(f"could not enqueue: {exc.message}")
    finally:
        queue.close()
        reader.close()
    console.print(f"[green]enqueued {len(report.accepted)} video(s)[/]")
    for bad in report.rejected:
        err_console.print(f"[yellow]rejected[/] {bad.where()}: {bad.reason}", highlight=False)
    if report.rejected:
        raise typer.Exit(1)


def consume(
    burst: Annotated[
        bool,
        typer.Option(help="Exit once nothing is ready, instead of waiting for more work."),
    ] = False,
    burst_wait: Annotated[
        float,
        typer.Option(help="With --burst: also wait up to this many seconds for delayed retries."),
    ] = 0.0,
    max_messages: Annotated[
        int | None, typer.Option(help="Stop after this many messages.", min=1)
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Videos at once (default TUBEQ_CONCURRENCY).", min=1)
    ] = None,
    wait_leases: Annotated[
        bool,
        typer.Option(
            "--wait-leases/--no-wait-leases",
            help="With --burst: wait (at most the visibility timeout) for messages another "
            "consumer holds, e.g. one that was killed.",
        ),
    ] = True,
) -> None:
    """Take videos off the queue and analyse them (until SIGTERM, or drained with --burst).

    Exit code: 0 stopped cleanly, 3 in-flight work outlived the grace period (its leases
    expire and the messages come back), 4 stopped by a refused key or a bad setting (before
    anything is leased when the start-up checks find it), 75 services still unreachable after
    TUBEQ_PREFLIGHT_WAIT_S at start (nothing leased; try again later).
    """
    overrides: dict[str, object] = {}
    if concurrency is not None:
        overrides["concurrency"] = concurrency
    settings = load_settings(**overrides)

    def report(result: MessageResult) -> None:
        if result.error is not None and result.action in (Action.FAILED, Action.DEAD):
            err_console.print(
                f"{result.label}: {result.action} ({result.error.code}: {result.error.message})",
                highlight=False,
            )

    try:
        consumer = build_consumer(settings, on_result=report)
    except TubeqError as exc:
        fail(exc.message)
    install_signal_handlers(consumer.runner)
    stats = consumer.runner.run(
        burst=burst,
        burst_wait_s=burst_wait,
        max_messages=max_messages,
        wait_for_leases=wait_leases,
    )
    consumer.close()
    elsewhere = ""
    if stats.leased_elsewhere:
        until = f"{stats.leased_until:%H:%M:%S} UTC" if stats.leased_until else "unknown"
        elsewhere = (
            f"; {stats.leased_elsewhere} leased by another consumer until {until} (not waited for)"
        )
    console.print(
        f"done {stats.done}, skipped {stats.skipped}, failed {stats.failed}, "
        f"retried {stats.retried}, dead-lettered {stats.dead}"
        + (f", handed back {stats.handed_back}" if stats.handed_back else "")
        + (f", left to their lease {stats.lease_lost}" if stats.lease_lost else "")
        + elsewhere,
        highlight=False,
    )
    fatal = consumer.runner.fatal
    if fatal is not None:
        fail(
            f"stopped: {fatal.message} (the messages are kept; fix this and start again)",
            code=4,
        )
    if stats.unfinished:
        err_console.print(f"{stats.unfinished} unfinished: their leases will expire")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(3)  # worker threads cannot be joined in time; the leases cover them


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
) -> None:
    """Counts per state, queue backlog, tokens and cost, and recent failures."""
    settings = load_settings()
    reader = factory.build_results(settings)
    queue = factory.build_queue(settings)
    try:
        progress = reader.progress()
        qstats = queue.stats()
        recent = reader.failures(failures)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        reader.close()
        queue.close()
    table = Table(title="videos by state")
    table.add_column("state")
    table.add_column("videos", justify="right")
    for state, count in sorted(progress.by_state.items()):
        table.add_row(state, str(count))
    table.add_row("[bold]total[/]", f"[bold]{progress.total_videos}[/]")
    console.print(table)
    finished = progress.by_state.get("done", 0) + progress.by_state.get("failed", 0)
    finished += progress.by_state.get("dead", 0)
    if progress.total_videos:
        share = 100 * finished / progress.total_videos
        console.print(f"progress: {finished}/{progress.total_videos} finished ({share:.0f}%)")
    console.print(
        f"queue: {qstats.ready} ready, {qstats.delayed} delayed, {qstats.in_flight} in flight, "
        f"{qstats.dead} dead letters\n{spend_lines(progress)}",
        highlight=False,
    )
    if recent:
        ft = Table(title="recent failures")
        ft.add_column("video", no_wrap=True)
        ft.add_column("state")
        ft.add_column("attempts", justify="right")
        ft.add_column("error")
        for v in recent:
            error = shorten(f"{v.error_code}: {v.error}", 100)
            ft.add_row(v.video_id, v.state.value, str(v.attempts), error)
        console.print(ft)


def show(
    video: Annotated[str, typer.Argument(help="A video id or URL.")],
    expires: ExpiresOption = None,
) -> None:
    """One video: its state, analysis and artifact links."""
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
    console.print(render_video(found))
    for art in found.artifacts:
        try:
            link = artifacts.url(art.key, lifetime)
        except TubeqError as exc:
            fail(exc.message)
        console.print(f"[bold]{art.kind}[/] ({art.content_type}, {art.size:,} B): {link}")


def render_video(v: VideoStatus) -> Panel:
    meta = v.meta
    lines = [f"[bold]state[/]: {v.state.value}   attempts: {v.attempts}"]
    if meta is not None:
        lines.append(f"[bold]title[/]: {meta.title or '?'}   channel: {meta.channel_title or '?'}")
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
