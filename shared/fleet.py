"""What an operator sees of the fleet at work: the consumers running now (each one's
heartbeat row in the result store) and how much of the model quota is in use (read from the
rate budget the consumers share). Plain records; the ports that fill them are
``ConsumerRegistry`` and ``BudgetMeter`` (``shared.ports``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

#: a consumer not seen for this many heartbeat intervals is shown as lost (killed, frozen
#: or cut off from the store): one missed beat is a slow store, three is not
STALE_AFTER_BEATS = 3
#: rows of consumers lost this long ago are deleted by the next heartbeat of any consumer,
#: so a crashed machine does not stay on the overview forever
FORGET_LOST_AFTER_S = 24 * 3600.0
#: how many in-flight videos a heartbeat names (the rest are counted)
CURRENT_SHOWN = 20


class ConsumerBeat(BaseModel):
    """What a consumer writes on each heartbeat (one upsert by ``consumer_id``)."""

    model_config = ConfigDict(frozen=True)

    consumer_id: str = Field(min_length=1, max_length=200)
    host: str = Field(max_length=255)
    pid: int = Field(ge=0)
    version: str = Field(max_length=100)
    started_at: datetime
    #: seconds between two beats: the reader's measure of "not seen for too long"
    interval_s: float = Field(gt=0)
    #: "running", or "stopping" (a SIGTERM: finishing the videos in flight)
    state: str = Field("running", max_length=20)
    concurrency: int = Field(1, ge=0)
    #: labels (video ids) of the work in flight now, at most ``CURRENT_SHOWN``
    current: list[str] = Field(default_factory=list)
    in_flight: int = Field(0, ge=0)
    done: int = Field(0, ge=0)
    skipped: int = Field(0, ge=0)
    failed: int = Field(0, ge=0)
    retried: int = Field(0, ge=0)
    dead: int = Field(0, ge=0)


class RunningConsumer(ConsumerBeat):
    """A consumer as the store knows it: its last beat, and how long ago that was (on the
    store's clock: a fleet's machines need not agree on the time)."""

    last_seen: datetime
    seen_s_ago: float

    @property
    def stale(self) -> bool:
        """Not seen for more than ``STALE_AFTER_BEATS`` intervals: lost, not running."""
        return self.seen_s_ago > STALE_AFTER_BEATS * self.interval_s


class BudgetUsage(BaseModel):
    """How much of the model quota the shared rate budget has handed out, read without
    taking or changing anything. ``exists`` is False before any consumer made a call."""

    model_config = ConfigDict(frozen=True)

    #: where the budget lives: "local file …" or "fleet (postgres)" / "fleet (supabase)"
    where: str
    exists: bool
    #: the configured limits (TUBEQ_GEMINI_RPM / _TPM over TUBEQ_RATE_BUDGET_WINDOW_S)
    requests_limit: int
    tokens_limit: int
    window_s: float
    #: granted in the sliding window ending now (the last ``window_s`` seconds)
    requests_in_window: int = 0
    tokens_in_window: int = 0
    #: granted for a moment still ahead (calls paced into the coming seconds)
    requests_ahead: int = 0
    tokens_ahead: int = 0
    #: Gemini asked every client to wait (a 429): nothing is granted for this long
    paused_for_s: float = 0.0
    #: seconds since the latest grant that has gone out; None when none in the kept window
    last_grant_s_ago: float | None = None

    @property
    def requests_share(self) -> float:
        return self.requests_in_window / self.requests_limit

    @property
    def tokens_share(self) -> float:
        return self.tokens_in_window / self.tokens_limit
