"""The overview's two fleet panels, as the page and ``/overview.json`` show them: the model
quota in use (the shared rate budget, read only) and the running consumers (their heartbeat
rows; lost ones marked). Plain rows of text and numbers, so the template, the live script
and the JSON agree."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.fleet import BudgetUsage, RunningConsumer
from shared.fleet_view import ago, consumer_status, quota_summary, read_fleet
from shared.ports import BudgetMeter

#: how many in-flight videos a consumer's row names on the page
CURRENT_ON_PAGE = 6


@dataclass(frozen=True)
class ConsumerRow:
    consumer_id: str
    host: str
    pid: int
    version: str
    started: str
    seen_ago: str
    #: what the consumer said: "running" or "stopping"
    state: str
    #: what the page prints: the state, or "lost (...)"
    status: str
    stale: bool
    current: list[str]
    in_flight: int
    concurrency: int
    done: int
    failed: int
    retried: int
    dead: int


@dataclass(frozen=True)
class QuotaView:
    exists: bool
    where: str
    window_s: float
    requests_in_window: int
    requests_limit: int
    requests_pct: int
    tokens_in_window: int
    tokens_limit: int
    tokens_pct: int
    requests_ahead: int
    paused_for_s: float
    last_grant: str
    summary: str
    #: "12 / 60 (20%)": what the page prints beside each bar
    requests_text: str
    tokens_text: str


@dataclass
class FleetPanels:
    #: None: this result store keeps no consumer rows
    consumers: list[ConsumerRow] | None
    #: None: the budget is not read here (see notes)
    quota: QuotaView | None
    notes: list[str] = field(default_factory=list)


def _pct(share: float) -> int:
    return max(0, min(999, round(share * 100)))


def consumer_row(c: RunningConsumer) -> ConsumerRow:
    return ConsumerRow(
        consumer_id=c.consumer_id,
        host=c.host,
        pid=c.pid,
        version=c.version,
        started=c.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        seen_ago=ago(c.seen_s_ago),
        state=c.state,
        status=consumer_status(c),
        stale=c.stale,
        current=c.current[:CURRENT_ON_PAGE]
        + ([f"+{c.in_flight - CURRENT_ON_PAGE} more"] if c.in_flight > CURRENT_ON_PAGE else []),
        in_flight=c.in_flight,
        concurrency=c.concurrency,
        done=c.done,
        failed=c.failed,
        retried=c.retried,
        dead=c.dead,
    )


def _used(n: int, limit: int, pct: int) -> str:
    return f"{n:,} / {limit:,} ({pct}%)"


def quota_view(q: BudgetUsage) -> QuotaView:
    requests_pct, tokens_pct = _pct(q.requests_share), _pct(q.tokens_share)
    return QuotaView(
        exists=q.exists,
        where=q.where,
        window_s=q.window_s,
        requests_in_window=q.requests_in_window,
        requests_limit=q.requests_limit,
        requests_pct=requests_pct,
        tokens_in_window=q.tokens_in_window,
        tokens_limit=q.tokens_limit,
        tokens_pct=tokens_pct,
        requests_ahead=q.requests_ahead,
        paused_for_s=q.paused_for_s,
        last_grant="-" if q.last_grant_s_ago is None else f"{ago(q.last_grant_s_ago)} ago",
        summary=quota_summary(q),
        requests_text=_used(q.requests_in_window, q.requests_limit, requests_pct),
        tokens_text=_used(q.tokens_in_window, q.tokens_limit, tokens_pct),
    )


def fleet_panels(reader: object, meter: BudgetMeter | None) -> FleetPanels:
    view = read_fleet(reader, meter)
    return FleetPanels(
        consumers=None if view.consumers is None else [consumer_row(c) for c in view.consumers],
        quota=None if view.quota is None else quota_view(view.quota),
        notes=view.notes,
    )
