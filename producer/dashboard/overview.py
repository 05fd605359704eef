"""The overview's numbers, read through the ports: counts per state, throughput, ETA,
spend so far and projected, recent failures, dead letters, batches in flight, and the fleet
panels (``fleet_panels``: model quota in use, running consumers).

Sync on purpose: the routes run it in a worker thread (``Offload``), the static export
calls it directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from producer.dashboard.fleet_panels import ConsumerRow, QuotaView, fleet_panels
from producer.dashboard.pages import MIGRATE_HINT
from shared.dead_letters import dead_videos
from shared.errors import TubeqError
from shared.gemini.batch_models import LIVE_STATES
from shared.models import QueueStats, VideoState
from shared.ports import ActivityReader, ApiQueue, BatchStore, BudgetMeter, ResultReader

#: throughput is counted over this window, which the overview names
WINDOW = timedelta(minutes=10)
FAILURES_SHOWN = 15
DEAD_SHOWN = 50
PENDING = (VideoState.QUEUED, VideoState.PROCESSING, VideoState.RETRYING)


@dataclass(frozen=True)
class FailureRow:
    video_id: str
    title: str
    state: str
    error_code: str
    error: str
    attempts: int
    at: str


@dataclass(frozen=True)
class DeadRow:
    #: the queue's message id (redrive one), or None when read from the results
    message_id: str | None
    video_id: str
    attempts: int
    error: str
    at: str


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    state: str
    items: int
    updated: str


@dataclass
class Overview:
    generated_at: str
    by_state: dict[str, int]
    total: int
    backlog: int
    queue: dict[str, int] | None
    per_minute: float | None
    eta: str
    spend_usd: float
    projected_usd: float | None
    model_calls: int
    failures: list[FailureRow] = field(default_factory=list)
    dead: list[DeadRow] = field(default_factory=list)
    #: whether dead letters are listed from the queue (redrive one by one) or the results
    dead_from_queue: bool = True
    batches: list[BatchRow] | None = None
    #: None: the store keeps no consumer rows; else every consumer, lost ones marked
    consumers: list[ConsumerRow] | None = None
    #: None: the model quota is not read here
    quota: QuotaView | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def human_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours / 24:.1f} days"


def _queue_stats(queue: ApiQueue, notes: list[str]) -> QueueStats | None:
    try:
        return queue.stats()
    except TubeqError as exc:
        notes.append(f"queue counts unavailable: {exc.message}")
        return None


def _throughput(reader: ResultReader, now: datetime, notes: list[str]) -> float | None:
    if not isinstance(reader, ActivityReader):
        return None
    try:
        finished = reader.finished_since(now - WINDOW)
    except TubeqError as exc:
        # the rest of the overview still stands (a database not yet migrated to sql/019)
        notes.append(f"throughput unavailable: {exc.message} ({MIGRATE_HINT})")
        return None
    return len(finished) / (WINDOW.total_seconds() / 60)


def _dead(queue: ApiQueue, reader: ResultReader) -> tuple[list[DeadRow], bool]:
    if not queue.dead_letter_listing_consumes:
        rows = []
        for letter in queue.dead_letters(DEAD_SHOWN):
            body = letter.body
            vid = body.get("video_id") if isinstance(body, dict) else body.label
            rows.append(
                DeadRow(
                    message_id=letter.message_id,
                    video_id=str(vid or "?"),
                    attempts=letter.attempts,
                    error=letter.last_error or "",
                    at=_when(letter.dead_at),
                )
            )
        return rows, True
    found = dead_videos(reader, DEAD_SHOWN)
    return [
        DeadRow(None, d.video_id, d.attempts, d.error or "", _when(d.dead_since)) for d in found
    ], False


def _batches(reader: ResultReader) -> list[BatchRow] | None:
    if not isinstance(reader, BatchStore):
        return None
    return [
        BatchRow(b.batch_id, b.state.value, b.items, _when(b.updated_at))
        for b in reader.batch_list(50)
        if b.state in LIVE_STATES
    ]


def build_overview(
    queue: ApiQueue, reader: ResultReader, meter: BudgetMeter | None = None
) -> Overview:
    """The overview; ``meter`` reads the model quota in use (none: that panel is left out)."""
    now = datetime.now(UTC)
    notes: list[str] = []
    fleet = fleet_panels(reader, meter)
    notes += fleet.notes
    progress = reader.progress()
    stats = _queue_stats(queue, notes)
    pending = sum(progress.by_state.get(s.value, 0) for s in PENDING)
    backlog = stats.backlog if stats is not None else pending
    rate = _throughput(reader, now, notes)
    if rate is None:
        eta = "unknown (this result store does not say when videos finished)"
    elif backlog == 0:
        eta = "nothing waiting"
    elif rate == 0:
        eta = f"unknown: nothing finished in the last {WINDOW.seconds // 60} min"
    else:
        eta = human_duration(backlog / rate * 60)
    done = progress.by_state.get(VideoState.DONE.value, 0)
    spend = progress.usage.cost_usd
    projected = spend + backlog * spend / done if done else None
    dead, from_queue = _dead(queue, reader)
    failures = [
        FailureRow(
            video_id=f.video_id,
            title=(f.meta.title if f.meta else None) or "",
            state=f.state.value,
            error_code=f.error_code or "",
            error=f.error or "",
            attempts=f.attempts,
            at=_when(f.updated_at),
        )
        for f in reader.failures(FAILURES_SHOWN)
    ]
    return Overview(
        generated_at=_when(now),
        by_state=progress.by_state,
        total=progress.total_videos,
        backlog=backlog,
        queue=None
        if stats is None
        else {
            "ready": stats.ready,
            "delayed": stats.delayed,
            "in_flight": stats.in_flight,
            "dead": stats.dead,
        },
        per_minute=None if rate is None else round(rate, 2),
        eta=eta,
        spend_usd=round(spend, 4),
        projected_usd=None if projected is None else round(projected, 4),
        model_calls=progress.usage.model_calls,
        failures=failures,
        dead=dead,
        dead_from_queue=from_queue,
        batches=_batches(reader),
        consumers=fleet.consumers,
        quota=fleet.quota,
        notes=notes,
    )
