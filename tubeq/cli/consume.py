"""`tubeq consume`: the consumer at work, with a live display at a terminal and alerts.

At a terminal the per-video log lines give way to a live display (``tubeq.cli.live``);
they still go, as JSON, to ``--log-file`` or (not at a terminal) to stderr. Alerts
(``shared.alerts``) are sent when a destination is configured: the dead-letter queue past
its threshold, the day's spend past its limit, the consumer stopped by a systemic error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import RenderableType

from consumer.main import Consumer, build_consumer, install_signal_handlers
from consumer.runner import MessageResult, RunStats
from shared import factory
from shared.alerts import ConsumerWatch, alerter_for
from shared.errors import TubeqError
from shared.logging import configure_logging
from shared.ports import Queue, ResultBackend
from shared.retry_policy import Action
from shared.settings import Settings
from tubeq.cli.context import console, err_console, fail, load_settings
from tubeq.cli.live import ConsumeView, Poller, live


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
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="A live display (counts, throughput, ETA, spend, videos in flight) instead "
            "of log lines. Default: on at a terminal.",
            show_default=False,
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            help="Append the JSON log lines to this file (with the display on, only "
            "warnings reach the terminal otherwise).",
            dir_okay=False,
        ),
    ] = None,
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
    show_live = console.is_terminal if progress is None else progress
    log_stream = _route_logs(settings, log_file, show_live)
    view = ConsumeView()
    alerts = ConsumerAlerts.start(settings)

    def report(result: MessageResult) -> None:
        view.record(result, time.monotonic())
        if alerts is not None:
            alerts.watch.result(dead_lettered=result.action is Action.DEAD, error=result.error)
        if show_live:
            return  # the display shows the last failure; the log has every one
        if result.error is not None and result.action in (Action.FAILED, Action.DEAD):
            err_console.print(
                f"{result.label}: {result.action} ({result.error.code}: {result.error.message})",
                highlight=False,
            )

    try:
        consumer = build_consumer(settings, on_result=report)
    except TubeqError as exc:
        if alerts is not None:
            alerts.close()
        fail(exc.message)
    install_signal_handlers(consumer.runner)
    try:
        stats = _run_consumer(
            consumer, settings, view, show_live, burst, burst_wait, max_messages, wait_leases
        )
        if alerts is not None:
            counts = {k: v for k, v in vars(stats).items() if isinstance(v, int)}
            alerts.watch.stopped(consumer.runner.fatal, counts)
    finally:
        consumer.close()
        if alerts is not None:
            alerts.close()
        if log_stream is not None:
            log_stream.close()
    _finish(stats, consumer.runner.fatal)


def _finish(stats: RunStats, fatal: TubeqError | None) -> None:
    """The closing line, and the exit code it calls for."""
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


class ConsumerAlerts:
    """The consumer's alert watch with the connections it reads through (its own: its
    checks never wait on the workers' store calls)."""

    def __init__(self, watch: ConsumerWatch, queue: Queue, reader: ResultBackend) -> None:
        self.watch, self._queue, self._reader = watch, queue, reader

    @classmethod
    def start(cls, settings: Settings) -> ConsumerAlerts | None:
        """None when no alert destination is configured; else checked once at start (a
        dead-letter queue already past its threshold alerts now, once)."""
        try:
            alerter = alerter_for(settings, factory.build_alert_senders(settings))
            if alerter is None:
                return None
            queue = factory.build_queue(settings)
            reader = factory.build_results(settings)
        except TubeqError as exc:
            fail(exc.message)
        watch = ConsumerWatch(
            alerter,
            dead_count=lambda: queue.stats().dead,
            spend_total=lambda: reader.progress().usage.cost_usd,
        )
        watch.check_dead_letters()
        watch.check_spend()
        return cls(watch, queue, reader)

    def close(self) -> None:
        self.watch.alerter.close()
        self._queue.close()
        self._reader.close()


def _route_logs(settings: Settings, log_file: Path | None, show_live: bool) -> TextIO | None:
    """Where the log lines go: a file when asked (JSON); with the live display on and no
    file, only warnings and errors, which print above the display."""
    if log_file is not None:
        try:
            stream = log_file.open("a", encoding="utf-8")
        except OSError as exc:
            fail(f"--log-file {log_file}: {exc.strerror}")
        configure_logging(settings.log_level, "json", stream=stream)
        return stream
    if show_live:
        configure_logging("WARNING", settings.log_format)
    return None


def _run_consumer(
    consumer: Consumer,
    settings: Settings,
    view: ConsumeView,
    show_live: bool,
    burst: bool,
    burst_wait: float,
    max_messages: int | None,
    wait_leases: bool,
) -> RunStats:
    runner = consumer.runner

    def run() -> RunStats:
        return runner.run(
            burst=burst,
            burst_wait_s=burst_wait,
            max_messages=max_messages,
            wait_for_leases=wait_leases,
        )

    if not show_live:
        return run()
    # its own connections: the display's polls never wait on the workers' store calls
    reader = factory.build_results(settings)
    queue = factory.build_queue(settings)
    poller = Poller(view, lambda: reader.progress().usage.cost_usd, queue.stats)

    ended = False

    def render() -> RenderableType:
        now = time.monotonic()
        view.see_in_flight(runner.leases.held(), now)
        return view.render(runner.stats, now, stopping=runner.stopping and not ended)

    poller.start()
    try:
        with live(console, render) as display:
            stats = run()
            ended = True
            poller.poll_once()  # the last frame shows the backlog as it was left
            display.refresh()
            return stats
    finally:
        poller.stop()
        reader.close()
        queue.close()
