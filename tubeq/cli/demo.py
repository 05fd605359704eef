"""`tubeq demo`: the whole pipeline on the embedded backends, no accounts, no network."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consumer.main import build_consumer, install_signal_handlers
from consumer.runner import MessageResult
from producer.backfill import BackfillReport, backfill
from shared import factory
from shared.errors import TubeqError
from shared.models import VideoStatus
from shared.ports import Queue, ResultReader
from shared.settings import Settings
from tubeq.cli.context import console, fail, load_settings, shorten

FINAL = {"done", "skipped", "failed", "dead"}
#: the sample channels' handles (scripts/sample_catalogue.py gives them; samples/README.md lists
#: them): the demo enqueues by backfilling each, as an operator would a real channel
SAMPLE_CHANNELS = ("@hearth-handplane", "@signal-noise", "@geld-geschichte", "@wander-wallet")


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo's SQLite files and artifacts go.")
    ] = Path(".tubeq/demo"),
    keep: Annotated[
        bool, typer.Option(help="Keep earlier demo data (shows that nothing is redone).")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 4,
    verbose: Annotated[bool, typer.Option(help="Show the consumer's log lines too.")] = False,
) -> None:
    """Backfill the sample channels, consume their videos, and show what came out."""
    if not keep:
        _reset(data_dir)
    # The embedded backends whatever the environment says, and short retry delays so the
    # simulated outage reaches the dead-letter queue in seconds rather than hours.
    settings = load_settings(
        data_dir=data_dir,
        queue_backend="sqlite",
        transcript_backend="directory",
        listing_backend="directory",
        analyzer_backend="extractive",
        results_backend="sqlite",
        artifacts_backend="local",
        queue_path=None,
        results_path=None,
        artifacts_dir=None,
        concurrency=concurrency,
        retry_base_s=1.0,
        retry_cap_s=2.0,
        retry_jitter=0.0,
        poll_interval_s=0.1,
        visibility_timeout_s=120.0,
        log_level="INFO" if verbose else "ERROR",
    )
    started = time.monotonic()
    queue = factory.build_queue(settings)
    reader = factory.build_results(settings)
    reports = _backfill_samples(settings, queue, reader)
    total = sum(r.enqueued for r in reports)
    console.print(f"enqueued {total} sample videos into {settings.queue_file}", highlight=False)

    with Progress(
        TextColumn("[bold]analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("", total=total)
        counts: dict[str, int] = {}

        def on_result(result: MessageResult) -> None:
            counts[result.action] = counts.get(result.action, 0) + 1
            if result.action in FINAL:
                bar.advance(task)
            bar.update(task, description=", ".join(f"{k} {v}" for k, v in counts.items()))

        consumer = build_consumer(settings, on_result=on_result)
        install_signal_handlers(consumer.runner)
        consumer.runner.run(burst=True, burst_wait_s=10.0)
        consumer.close()

    elapsed = time.monotonic() - started
    rows = sorted(
        (status for r in reports for status in reader.channel_results(r.id)),
        key=lambda status: status.video_id,
    )
    ids = [r.video_id for r in rows]
    if not ids:
        fail(f"the sample channels list no videos: check {settings.listings_folder}")
    console.print(results_table(rows, console.width))
    dead = queue.dead_letters()
    queue.close()
    reader.close()
    done = sum(1 for r in rows if r.state.value == "done")
    cmd = _command_name()
    console.print(
        f"\n{done}/{len(ids)} analysed, {len(ids) - done} recorded as failures, "
        f"{len(dead)} in the dead-letter queue, in {elapsed:.1f} s\n"
        f"results:   {settings.results_file}\n"
        f"queue:     {settings.queue_file}\n"
        f"artifacts: {settings.artifacts_folder.resolve()}\n"
        f"next:      export TUBEQ_DATA_DIR={data_dir}\n"
        f"           {cmd} show {ids[0]}   (also: {cmd} status, {cmd} dlq list)\n"
        f"dashboard: {cmd} serve --insecure-no-auth   (local only: no keys)\n"
        f"           then open http://127.0.0.1:{settings.api_port}/",
        highlight=False,
    )


def _backfill_samples(
    settings: Settings, queue: Queue, reader: ResultReader
) -> list[BackfillReport]:
    """One channel backfill per sample channel (listed offline from the bundled listings),
    a line each: what was listed, enqueued, and skipped."""
    reports = []
    console.print("backfilling the sample channels (listed offline from samples/listings):")
    for handle in SAMPLE_CHANNELS:
        try:
            report = backfill(settings, queue, reader, handle)
        except TubeqError as exc:
            fail(exc.message)
        skipped = "".join(
            f", {n} {what}"
            for n, what in (
                (report.skipped_done, "done"),
                (report.skipped_failed, "failed"),
                (report.already_queued, "queued"),
                (report.skipped_live, "upcoming"),
                (report.unavailable, "private"),
            )
            if n
        )
        line = f"  {handle:<18} {report.found} listed, {report.enqueued} enqueued"
        console.print(line + (f" (skipped{skipped[1:]})" if skipped else ""), highlight=False)
        reports.append(report)
    return reports


_DEMO_FILES = ("queue.sqlite3", "results.sqlite3", "budget.sqlite3")


def _reset(data_dir: Path) -> None:
    """Remove what an earlier demo wrote there, and nothing else (never the folder itself:
    `--data-dir .` must not wipe a checkout)."""
    for name in _DEMO_FILES:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (data_dir / f"{name}{suffix}").unlink(missing_ok=True)
    artifacts = data_dir / "artifacts"
    if (artifacts / "transcripts").is_dir() or (artifacts / "reports").is_dir():
        shutil.rmtree(artifacts)


def results_table(rows: list[VideoStatus], width: int = 120) -> Table:
    table = Table(title="results")
    # Fits an 80-column terminal: the title gives way first, the reason keeps room to read.
    title_width = max(10, min(36, (width - 44) // 2))
    table.add_column("video", no_wrap=True)
    table.add_column("title", no_wrap=True, width=title_width)
    table.add_column("lang", no_wrap=True)
    table.add_column("min", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("topics / reason", overflow="fold")
    for r in rows:
        title = (r.meta.title if r.meta else None) or "-"
        minutes = f"{r.meta.duration_s / 60:.0f}" if r.meta and r.meta.duration_s else "-"
        if r.analysis is not None:
            detail = ", ".join(r.analysis.topics[:4])
            lang = r.analysis.language
        else:
            detail = f"[red]{r.error_code}[/]: {r.error}" if r.error_code else "-"
            lang = r.transcript_language or "-"
        style = {"done": "green", "failed": "red", "dead": "magenta"}.get(r.state.value, "")
        table.add_row(
            r.video_id,
            shorten(title, title_width),
            lang,
            minutes,
            f"[{style}]{r.state.value}[/]" if style else r.state.value,
            detail,
        )
    return table


def _command_name() -> str:
    """`tubeq` when it is on PATH (an activated venv), else the path to it (`.venv/bin/tubeq`)."""
    exe = Path(sys.argv[0])
    found = shutil.which("tubeq")
    if exe.name == "tubeq" and not (found and Path(found).resolve() == exe.resolve()):
        try:
            return str(exe.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(exe)
    return "tubeq"
