"""The fleet as ``tubeq status``, the overview and ``GET /v1/consumers`` / ``/v1/quota`` show
it: the running consumers (lost ones marked) and the model quota in use. Read through the
ports; a part that cannot be read becomes a note saying why, never a failed page."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.errors import TubeqError
from shared.fleet import STALE_AFTER_BEATS, BudgetUsage, RunningConsumer
from shared.ports import BudgetMeter, ConsumerRegistry


@dataclass
class FleetView:
    #: None: this result store keeps no consumer rows (or could not be read: see notes)
    consumers: list[RunningConsumer] | None
    #: None: no meter given, or the budget could not be read (see notes)
    quota: BudgetUsage | None
    notes: list[str] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(1 for c in self.consumers or [] if not c.stale)

    @property
    def lost(self) -> int:
        return sum(1 for c in self.consumers or [] if c.stale)


def read_consumers(reader: object, notes: list[str]) -> list[RunningConsumer] | None:
    if not isinstance(reader, ConsumerRegistry):
        return None
    try:
        return reader.consumers()
    except TubeqError as exc:
        notes.append(f"running consumers unavailable: {exc.message}")
        return None


def read_quota(meter: BudgetMeter | None, notes: list[str]) -> BudgetUsage | None:
    if meter is None:
        return None
    try:
        return meter.usage()
    except TubeqError as exc:
        notes.append(f"model quota unavailable: {exc.message}")
        return None


def read_fleet(reader: object, meter: BudgetMeter | None) -> FleetView:
    notes: list[str] = []
    consumers = read_consumers(reader, notes)
    return FleetView(consumers, read_quota(meter, notes), notes)


def ago(seconds: float) -> str:
    """``12 s``, ``4 min``, ``3 h`` ago: how long since a consumer was seen."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def consumer_status(c: RunningConsumer) -> str:
    """``running``, ``stopping`` or ``lost (not seen for 3 beats)``."""
    if c.stale:
        return f"lost (no heartbeat for {ago(c.seen_s_ago)}, > {STALE_AFTER_BEATS} beats)"
    return c.state


def quota_summary(q: BudgetUsage) -> str:
    """One line: the window's use of both limits, what is paced ahead, a pause."""
    if not q.exists:
        return (
            f"no budget yet: no consumer has called the model through {q.where} "
            f"(limits {q.requests_limit:,} requests and {q.tokens_limit:,} input tokens "
            f"per {q.window_s:g} s)"
        )
    line = (
        f"last {q.window_s:g} s: {q.requests_in_window:,} of {q.requests_limit:,} requests "
        f"({q.requests_share:.0%}), {q.tokens_in_window:,} of {q.tokens_limit:,} input tokens "
        f"({q.tokens_share:.0%})"
    )
    if q.requests_ahead:
        line += f"; {q.requests_ahead} call(s) paced into the next seconds"
    if q.paused_for_s > 0:
        line += f"; paused by Gemini for {q.paused_for_s:.0f} s more"
    return line
