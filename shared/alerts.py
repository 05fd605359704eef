"""Operator alerts: when to send one, and sending each at most once.

Events, each one alert however many videos it concerns:

- the dead-letter queue reaches ``TUBEQ_ALERT_DLQ_THRESHOLD`` messages (re-armed once it is
  back under the threshold, e.g. after a redrive);
- a consumer stops on a systemic error (a refused key, a bad setting): once per error code
  per UTC day, so a crash-looping fleet of containers sends one, not one per restart;
- a UTC day's model spend passes ``TUBEQ_ALERT_DAILY_SPEND_USD``: once per day;
- Gemini refuses a call and asks for a pause of at least ``TUBEQ_ALERT_QUOTA_PAUSE_S`` (a
  daily quota used up): once per day;
- a backfill finishes: once per backfill, with its counts and cost.

Which alerts went out is kept in a small SQLite file (``TUBEQ_ALERT_STATE_PATH``) that every
consumer on the machine shares: a key is claimed (an atomic insert) before sending, so two
consumers seeing the same event send one alert; if every destination fails the claim is
given back, so the next check tries again. Senders (``shared.ports.AlertSender``) only
deliver; nothing here reads a secret, and no log line holds one.

Daily spend: the result store keeps a running total, not a total per day, so the first
check of a UTC day records the total as the day's baseline and the day's spend is what was
added since. Spend before a machine's first check of the day is not counted.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from shared.errors import RateLimited, TubeqError
from shared.logging import get_logger
from shared.models import Alert
from shared.ports import AlertSender
from shared.settings import Settings

log = get_logger("tubeq.alerts")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend_baseline (day TEXT PRIMARY KEY, total_usd REAL NOT NULL);
"""


class AlertLog:
    """The alerts sent (by key) and the day's spend baseline, in one SQLite file shared by
    the processes of one machine. Each method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit; timeout: another consumer may hold the write lock for a moment
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    def claim(self, key: str) -> bool:
        """True if this caller is the first to claim ``key`` (and so sends the alert)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO sent (key, at) VALUES (?, ?)",
                (key, datetime.now(UTC).isoformat()),
            )
            return cur.rowcount == 1

    def release(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sent WHERE key = ?", (key,))

    def release_prefix(self, prefix: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sent WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def baseline(self, day: date, total_usd: float) -> float:
        """The spend total recorded at the day's first check (``total_usd`` if this is it)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO spend_baseline (day, total_usd) VALUES (?, ?)",
                (day.isoformat(), total_usd),
            )
            row = self._db.execute(
                "SELECT total_usd FROM spend_baseline WHERE day = ?", (day.isoformat(),)
            ).fetchone()
        return float(row[0])

    def close(self) -> None:
        self._db.close()


class Alerter:
    """Turns events into alerts, each sent once, to every configured destination."""

    def __init__(
        self,
        senders: Sequence[AlertSender],
        state: AlertLog,
        *,
        dlq_threshold: int = 10,
        daily_spend_usd: float | None = None,
        quota_pause_s: float = 300.0,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.senders = list(senders)
        self.state = state
        self.dlq_threshold = dlq_threshold
        self.daily_spend_usd = daily_spend_usd
        self.quota_pause_s = quota_pause_s
        self._today = today

    @property
    def enabled(self) -> bool:
        return bool(self.senders)

    def send(self, alert: Alert) -> bool:
        """Send unless already sent; True when at least one destination took it."""
        if not self.senders or not self.state.claim(alert.dedupe_key):
            return False
        delivered = 0
        for sender in self.senders:
            try:
                sender.send(alert)
            except TubeqError as exc:
                # the senders' messages name no secret (see the adapters)
                log.warning("alert.failed", alert=alert.kind, sender=sender.name, error=exc.message)
                continue
            delivered += 1
            log.info("alert.sent", alert=alert.kind, sender=sender.name)
        if not delivered:
            self.state.release(alert.dedupe_key)  # the next check tries again
        return delivered > 0

    # ---- the events -----------------------------------------------------------------------
    def dead_letters(self, count: int) -> bool:
        """The dead-letter queue holds ``count`` messages now."""
        if self.dlq_threshold <= 0:
            return False
        key = f"dlq:{self.dlq_threshold}"
        if count < self.dlq_threshold:
            self.state.release_prefix(key)  # re-armed: the next crossing alerts again
            return False
        return self.send(
            Alert(
                kind="dlq_threshold",
                title=f"{count} messages in the dead-letter queue",
                text=f"The dead-letter queue reached {count} messages (alert threshold "
                f"{self.dlq_threshold}). See `tubeq dlq list`; after fixing the cause, "
                "`tubeq dlq redrive --all`.",
                dedupe_key=key,
                fields={"dead letters": str(count), "threshold": str(self.dlq_threshold)},
            )
        )

    def spend(self, total_usd: float) -> bool:
        """The store's spend total is ``total_usd``; alert once a day past the limit."""
        if self.daily_spend_usd is None:
            return False
        day = self._today()
        spent = total_usd - self.state.baseline(day, total_usd)
        if spent <= self.daily_spend_usd:
            return False
        return self.send(
            Alert(
                kind="spend_limit",
                title=f"model spend today passed ${self.daily_spend_usd:,.2f}",
                text=f"${spent:,.4f} spent on model calls on {day} (UTC), over the daily limit "
                f"of ${self.daily_spend_usd:,.2f}. Consumers keep running; stop them to stop "
                "spending.",
                dedupe_key=f"spend:{day}",
                fields={"spent today (USD)": f"{spent:.4f}", "total (USD)": f"{total_usd:.4f}"},
            )
        )

    def quota_exhausted(self, pause_s: float, message: str) -> bool:
        """Gemini refused a call and asked for ``pause_s`` seconds; a short pause is the
        budget's everyday business, a long one (a daily quota used up) is the operator's.
        Once a day: the pause repeats for every call until the quota comes back."""
        if pause_s < self.quota_pause_s:
            return False
        day = self._today()
        return self.send(
            Alert(
                kind="quota_exhausted",
                title=f"model quota exhausted: calls paused for {pause_s / 60:,.0f} min",
                text=f"Gemini refused a call and asked to wait {pause_s:,.0f} s: {message}\n"
                "Consumers pause and resume by themselves; raise the quota or lower "
                "TUBEQ_GEMINI_RPM/TPM to match it.",
                dedupe_key=f"quota:{day}",
                fields={"pause (s)": f"{pause_s:.0f}"},
            )
        )

    def consumer_stopped(self, code: str, message: str, counts: dict[str, int]) -> bool:
        day = self._today()
        return self.send(
            Alert(
                kind="consumer_stopped",
                title=f"a consumer stopped: {code}",
                text=f"{message}\nIts messages are kept; fix this and start it again.",
                dedupe_key=f"consumer_stopped:{code}:{day}",
                fields={name: str(n) for name, n in counts.items()},
            )
        )

    def backfill_finished(
        self,
        target: str,
        counts: dict[str, int],
        cost_usd: float,
        *,
        dry_run: bool = False,
        run_id: str | None = None,
    ) -> bool:
        """A backfill of ``target`` (a channel or playlist) finished enqueueing."""
        if dry_run:
            return False
        fields = {name: str(n) for name, n in counts.items()}
        fields["estimated cost (USD)"] = f"{cost_usd:.4f}"
        enqueued = counts.get("enqueued", 0)
        return self.send(
            Alert(
                kind="backfill_finished",
                title=f"backfill of {target} finished: {enqueued} enqueued",
                text=f"The backfill of {target} is done: {enqueued} videos enqueued, "
                f"estimated cost ${cost_usd:,.4f}.",
                dedupe_key=f"backfill:{target}:{run_id or time.time_ns()}",
                fields=fields,
            )
        )

    def close(self) -> None:
        self.state.close()


class ConsumerWatch:
    """The consumer's alerts: told of each finished message (``on_result``), it checks the
    dead-letter count when a message was dead-lettered and the spend at most every
    ``spend_every_s``; ``stopped`` is called once the runner returns."""

    def __init__(
        self,
        alerter: Alerter,
        dead_count: Callable[[], int],
        spend_total: Callable[[], float],
        spend_every_s: float = 60.0,
    ) -> None:
        self.alerter = alerter
        self._dead_count = dead_count
        self._spend_total = spend_total
        self._spend_every_s = spend_every_s
        self._spend_checked = 0.0

    def check_dead_letters(self) -> None:
        try:
            self.alerter.dead_letters(self._dead_count())
        except TubeqError as exc:
            log.warning("alert.check_failed", check="dead_letters", error=exc.message)

    def check_spend(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.alerter.daily_spend_usd is None or now - self._spend_checked < self._spend_every_s:
            return
        self._spend_checked = now
        try:
            self.alerter.spend(self._spend_total())
        except TubeqError as exc:
            log.warning("alert.check_failed", check="spend", error=exc.message)

    def result(self, dead_lettered: bool, error: TubeqError | None = None) -> None:
        if dead_lettered:
            self.check_dead_letters()
        if isinstance(error, RateLimited) and error.retry_after is not None:
            self.alerter.quota_exhausted(error.retry_after, error.message)
        self.check_spend()

    def stopped(self, fatal: TubeqError | None, counts: dict[str, int]) -> None:
        if fatal is not None:
            self.alerter.consumer_stopped(fatal.code, fatal.message, counts)
        self.check_dead_letters()


def alerter_for(settings: Settings, senders: Sequence[AlertSender]) -> Alerter | None:
    """The alerter for these settings and destinations (``factory.build_alert_senders``);
    None when no destination is configured, so nothing is written for nothing."""
    if not senders:
        return None
    return Alerter(
        senders,
        AlertLog(settings.alert_state_file),
        dlq_threshold=settings.alert_dlq_threshold,
        daily_spend_usd=settings.alert_daily_spend_usd,
        quota_pause_s=settings.alert_quota_pause_s,
    )
