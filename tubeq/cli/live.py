"""Live displays for long runs: `tubeq consume` at a terminal and `tubeq status --watch`.

The consumer core knows nothing of them: the display hears of each finished message
through the runner's ``on_result`` callback, reads which videos are in flight from the
runner's lease keeper, and polls the result store (spend) and the queue (backlog) through
their ports, at most every few seconds, with its own connections.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from consumer.runner import MessageResult, RunStats
from shared.errors import TubeqError
from shared.jobs import JobUnreadable
from shared.models import Delivery, QueueStats
from shared.retry_policy import Action

#: throughput is measured over this much of the recent past (a fair ETA for a long run,
#: quick to follow a change of pace)
THROUGHPUT_WINDOW_S = 300.0
#: how often the display asks the store and the queue (each ask may be a network call)
POLL_EVERY_S = 5.0
#: how many in-flight videos are listed by name
SHOWN_IN_FLIGHT = 8


@dataclass
class ConsumeView:
    """Everything the display shows, gathered from callbacks and polls; ``render`` is pure."""

    started: float = field(default_factory=time.monotonic)
    #: when each finished message ended (monotonic), for the throughput window
    finished_at: deque[float] = field(default_factory=deque)
    last_failure: str | None = None
    backlog: QueueStats | None = None
    spend_usd: float | None = None
    #: what the spend was at start, so "this run" can be told from "all time"
    spend_at_start: float | None = None
    #: message id → (label, when this display first saw it in flight)
    in_flight: dict[str, tuple[str, float]] = field(default_factory=dict)

    def record(self, result: MessageResult, now: float) -> None:
        if result.action in (Action.LEFT_TO_LEASE, Action.HANDED_BACK):
            return  # not finished: it comes back
        self.finished_at.append(now)
        if result.error is not None and result.action in (Action.FAILED, Action.DEAD):
            self.last_failure = (
                f"{result.label}: {result.action} ({result.error.code}: {result.error.message})"
            )

    def throughput_per_min(self, now: float) -> float | None:
        """Finished messages per minute over the recent window; None before a minute's data."""
        while self.finished_at and now - self.finished_at[0] > THROUGHPUT_WINDOW_S:
            self.finished_at.popleft()
        span = min(now - self.started, THROUGHPUT_WINDOW_S)
        if span < 10 or not self.finished_at:
            return None
        return len(self.finished_at) * 60.0 / span

    def eta_s(self, now: float) -> float | None:
        rate = self.throughput_per_min(now)
        if rate is None or self.backlog is None or rate <= 0:
            return None
        return self.backlog.backlog / rate * 60.0

    def see_in_flight(self, held: list[Delivery], now: float) -> None:
        current = {d.message_id: d for d in held}
        for mid in list(self.in_flight):
            if mid not in current:
                del self.in_flight[mid]
        for mid, d in current.items():
            if mid not in self.in_flight:
                self.in_flight[mid] = (_label(d), now)

    def render(self, stats: RunStats, now: float, stopping: bool = False) -> RenderableType:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row(
            "videos",
            f"[green]{stats.done} done[/]  {stats.skipped} skipped  "
            f"[red]{stats.failed} failed[/]  [yellow]{stats.retried} retrying[/]  "
            f"[magenta]{stats.dead} dead[/]",
        )
        rate = self.throughput_per_min(now)
        table.add_row("throughput", f"{rate:.1f} videos/min" if rate is not None else "measuring…")
        if self.backlog is not None:
            b = self.backlog
            eta = self.eta_s(now)
            table.add_row(
                "backlog",
                f"{b.ready} ready, {b.delayed} delayed, {b.in_flight} in flight, "
                f"{b.dead} dead letters"
                + (f"  ETA {clock(eta)}" if eta is not None and b.backlog else ""),
            )
        if self.spend_usd is not None:
            run = (
                f" (this run ${self.spend_usd - self.spend_at_start:.4f})"
                if self.spend_at_start is not None
                else ""
            )
            table.add_row("spend", f"${self.spend_usd:.4f} so far{run}")
        table.add_row("elapsed", clock(now - self.started))
        parts: list[RenderableType] = [table]
        if self.in_flight:
            rows = sorted(self.in_flight.values(), key=lambda v: v[1])
            shown = ", ".join(f"{label} ({clock(now - t)})" for label, t in rows[:SHOWN_IN_FLIGHT])
            more = len(rows) - SHOWN_IN_FLIGHT
            parts.append(Text(f"working on: {shown}" + (f" and {more} more" if more > 0 else "")))
        if self.last_failure:
            parts.append(Text(f"last failure: {self.last_failure}", style="red"))
        if stopping:
            parts.append(Text("stopping: finishing the videos in flight (Ctrl-C again: now)"))
        return Group(*parts)


def _label(d: Delivery) -> str:
    """The video id (a job's own label); the kind when this code cannot read the job."""
    try:
        return d.body.label
    except JobUnreadable:
        return d.envelope.label


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Poller:
    """Asks the store and the queue for spend and backlog, at most every ``every_s``,
    in its own thread, so a slow network call never freezes the display."""

    def __init__(
        self,
        view: ConsumeView,
        spend: Callable[[], float],
        backlog: Callable[[], QueueStats],
        every_s: float = POLL_EVERY_S,
    ) -> None:
        self.view, self._spend, self._backlog, self.every_s = view, spend, backlog, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-poll", daemon=True)

    def poll_once(self) -> None:
        # on an outage the display keeps the last figures; the consumer reports the outage
        with suppress(TubeqError):
            self.view.spend_usd = self._spend()
            if self.view.spend_at_start is None:
                self.view.spend_at_start = self.view.spend_usd
        with suppress(TubeqError):
            self.view.backlog = self._backlog()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.every_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every_s)


@contextmanager
def live(console: Console, render: Callable[[], RenderableType]) -> Iterator[Live]:
    """A display redrawn twice a second; log lines written to stderr meanwhile print above
    it (rich redirects the stream while it is live)."""
    with Live(get_renderable=render, console=console, refresh_per_second=2, transient=False) as lv:
        yield lv


def watch_status(render: Callable[[], RenderableType], interval_s: float) -> None:
    """`tubeq status --watch`: redraw every ``interval_s`` until Ctrl-C."""
    console = Console()
    try:
        with Live(render(), console=console, auto_refresh=False, screen=False) as lv:
            while True:
                time.sleep(interval_s)
                lv.update(render(), refresh=True)
    except KeyboardInterrupt:
        return
