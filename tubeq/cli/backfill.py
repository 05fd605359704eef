"""``tubeq backfill REF``: enqueue every video of a channel or playlist.

Listed through ``TUBEQ_LISTING_BACKEND``: the YouTube Data API when a key is set, else the
bundled sample listings (``tubeq backfill @hearth-handplane`` works offline). The core is
async (the Worker awaits it); ``producer.backfill.backfill`` runs it under ``asyncio.run``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from producer.backfill import BackfillReport, actual_cost_per_video, backfill
from shared.errors import TubeqError
from shared.factory import build_analyzer, build_queue, build_results
from tubeq.cli.context import console, fail, load_settings
from tubeq.cli.templates import SUMMARY, TemplateOption, check_template


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--since {value!r} is not a date: use YYYY-MM-DD, e.g. --since 2024-01-31")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def summary_table(report: BackfillReport, actual_per_video: float | None = None) -> Table:
    """The report; with ``actual_per_video`` (``actual_cost_per_video`` of the result store's
    progress) the estimate per video stands beside what a video has really cost so far."""
    name = report.title or report.id
    table = Table(title=f"backfill of {report.kind} {name} ({report.id})", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("videos found", str(report.found))
    table.add_row("private or deleted", str(report.unavailable))
    table.add_row("live or upcoming (skipped until they end)", str(report.skipped_live))
    table.add_row("already analysed (skipped)", str(report.skipped_done))
    table.add_row("failed before (skipped)", str(report.skipped_failed))
    table.add_row("already queued (skipped)", str(report.already_queued))
    verb = "would enqueue" if report.dry_run else "enqueued"
    table.add_row(verb, f"[bold]{report.enqueued}[/]")
    table.add_row("estimated input tokens", f"{report.estimated_input_tokens:,}")
    table.add_row("estimated output tokens", f"{report.estimated_output_tokens:,}")
    table.add_row("estimated model calls", f"{report.estimated_model_calls:,}")
    table.add_row("estimated cost online", f"${report.estimated_cost_usd:,.4f}")
    # side by side: what the same videos cost through the Batch API (issue 12)
    online_part = (
        f" ({report.batch_online_videos} long videos online)" if report.batch_online_videos else ""
    )
    table.add_row(
        "estimated cost as a batch (half price)" + online_part,
        f"${report.estimated_batch_cost_usd:,.4f}",
    )
    if report.batch:
        table.add_row("mode", "Gemini Batch API (target turnaround 24 h)")
    else:
        table.add_row(
            "estimated duration at the rate limit", _duration(report.estimated_duration_s)
        )
    if report.enqueued:
        chosen = report.estimated_batch_cost_usd if report.batch else report.estimated_cost_usd
        per_video = chosen / report.enqueued
        table.add_row("estimated cost per video", f"${per_video:,.4f}")
    if actual_per_video is not None:
        # every billed call so far, failed ones included, over the analyses kept
        table.add_row("actual cost per analysed video so far", f"${actual_per_video:,.4f}")
    return table


def register(app: typer.Typer) -> None:
    @app.command("backfill")
    def backfill_command(
        ref: Annotated[
            str,
            typer.Argument(
                help="Channel (URL, @handle, UC… id) or playlist (URL with list=, or id)."
            ),
        ],
        since: Annotated[
            str | None,
            typer.Option(
                help="Only videos published on or after YYYY-MM-DD (a channel's listing "
                "stops paging at older uploads, saving quota)."
            ),
        ] = None,
        limit: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="At most this many videos: a channel's newest, or a playlist's first "
                "in playlist order.",
            ),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="List and estimate; enqueue nothing.")
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Re-analyse videos already done or failed.")
        ] = False,
        batch: Annotated[
            bool,
            typer.Option(
                "--batch",
                help="Analyse through the Gemini Batch API: half the price, results within "
                "24 h (long videos still go online).",
            ),
        ] = False,
        skip_done: Annotated[
            bool,
            typer.Option(
                "--skip-done/--no-skip-done", help="Skip videos analysed with this version."
            ),
        ] = True,
        template: TemplateOption = SUMMARY,
    ) -> None:
        """Enqueue every video of a channel or playlist.

        Videos are listed through the Data API, or offline from the sample listings when no
        TUBEQ_YOUTUBE_API_KEY is set."""
        settings = load_settings()
        check_template(settings, template)
        if batch and template != SUMMARY:
            fail("--batch runs the summary only: drop --batch to backfill another template")
        since_date = _parse_date(since)
        try:
            queue = build_queue(settings)
            results = build_results(settings)
            analyzer = build_analyzer(settings)
            # only its version is needed (the idempotency key the done-check uses)
            version = analyzer.analysis_version
            analyzer.close()
        except TubeqError as exc:
            fail(exc.message)
        try:
            with Progress(
                TextColumn("enqueueing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("enqueue", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = backfill(
                    settings,
                    queue,
                    results,
                    ref,
                    since=since_date,
                    limit=limit,
                    skip_done=skip_done,
                    dry_run=dry_run,
                    force=force,
                    on_progress=progress,
                    analysis_version=version,
                    batch=batch,
                    template=template,
                )
            actual = actual_cost_per_video(results.progress())
        except TubeqError as exc:
            fail(exc.message)
        finally:
            queue.close()
            results.close()
        console.print(summary_table(report, actual))
        if dry_run:
            console.print("dry run: nothing was enqueued")
