"""The numbers `tubeq consume`'s live display shows, and the help text's value names."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from consumer.runner import MessageResult, RunStats
from shared.errors import TranscriptsDisabled
from shared.models import Delivery, QueueStats, VideoJob
from shared.retry_policy import Action
from tubeq.cli.help_format import plain
from tubeq.cli.live import ConsumeView, Poller


def delivery(video_id: str, message_id: str) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        message_id=message_id,
        lease_id="l",
        envelope=VideoJob(video_id=video_id).envelope(),
        attempts=1,
        enqueued_at=now,
        lease_expires_at=now + timedelta(minutes=10),
    )


def text(view: ConsumeView, stats: RunStats, now: float) -> str:
    out = io.StringIO()
    Console(file=out, width=120).print(view.render(stats, now))
    return out.getvalue()


def test_throughput_eta_and_what_is_in_flight() -> None:
    view = ConsumeView(started=0.0)
    d = delivery("dQw4w9WgXcQ", "m1")
    for t in range(0, 60, 2):  # 30 videos in the first minute
        view.record(MessageResult(d, Action.DONE, label="dQw4w9WgXcQ"), float(t))
    view.record(MessageResult(d, Action.HANDED_BACK, label="x"), 59.0)  # not finished
    assert view.throughput_per_min(60.0) == 30.0
    view.backlog = QueueStats(ready=50, delayed=5, in_flight=5)
    assert view.eta_s(60.0) == 120.0  # 60 left at 30 a minute
    view.see_in_flight([d, delivery("aaaaaaaaaaa", "m2")], 60.0)
    view.see_in_flight([delivery("aaaaaaaaaaa", "m2")], 70.0)
    err = TranscriptsDisabled("video x: disabled")
    view.record(MessageResult(d, Action.FAILED, error=err, label="bbbbbbbbbbb"), 70.0)
    view.spend_usd, view.spend_at_start = 1.25, 1.0
    shown = text(view, RunStats(done=30, failed=1, retried=2, dead=3), 75.0)
    assert "30 done" in shown and "1 failed" in shown and "2 retrying" in shown
    assert "3 dead" in shown and "videos/min" in shown and "ETA 0:02:" in shown
    assert "$1.2500 so far (this run $0.2500)" in shown
    assert "working on: aaaaaaaaaaa (0:00:15)" in shown and "dQw4w9WgXcQ (" not in shown
    assert "last failure: bbbbbbbbbbb: failed (transcripts_disabled" in shown


def test_throughput_waits_for_data_and_forgets_the_old() -> None:
    view = ConsumeView(started=0.0)
    assert view.throughput_per_min(5.0) is None
    view.record(MessageResult(delivery("dQw4w9WgXcQ", "m"), Action.DONE, label="v"), 1.0)
    assert view.throughput_per_min(5.0) is None  # under ten seconds: not yet a rate
    assert view.throughput_per_min(1000.0) is None  # the only one is out of the window
    assert "measuring" in text(view, RunStats(), 1000.0)


def test_poller_keeps_the_first_spend_as_the_runs_start() -> None:
    totals = iter([2.0, 2.5])
    view = ConsumeView()
    poller = Poller(view, lambda: next(totals), lambda: QueueStats(ready=3))
    poller.poll_once()
    poller.poll_once()
    assert (view.spend_at_start, view.spend_usd) == (2.0, 2.5)
    assert view.backlog == QueueStats(ready=3)


def test_help_value_names() -> None:
    assert plain("<bool>", is_flag=True) is None
    assert plain("<str>", is_flag=False) == "TEXT"
    assert plain("<int range>", is_flag=False) == "INTEGER"
    assert plain("<list[str]>", is_flag=False) == "TEXT..."
    assert plain("<a|b>", is_flag=False) == "a|b"
    assert plain("SECONDS", is_flag=False) == "SECONDS"
