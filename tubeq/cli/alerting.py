"""Alerts from one-shot commands: `tubeq backfill` calls ``backfill_finished`` once it has
enqueued (one line there), so operators hear of a finished backfill with its counts and
cost without watching it. Nothing is sent, or written, when no destination is set."""

from __future__ import annotations

from producer.backfill import BackfillReport
from shared import factory
from shared.alerts import alerter_for
from shared.errors import TubeqError
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger("tubeq.alerts")


def backfill_finished(settings: Settings, report: BackfillReport) -> bool:
    """Send the "backfill finished" alert for this report (never for a dry run); a failure to
    send is logged, never raised: the backfill itself succeeded."""
    if report.dry_run:
        return False
    try:
        alerter = alerter_for(settings, factory.build_alert_senders(settings))
    except TubeqError as exc:
        log.warning("alert.unavailable", error=exc.message)
        return False
    if alerter is None:
        return False
    counts = {
        "found": report.found,
        "enqueued": report.enqueued,
        "already analysed": report.skipped_done,
        "failed before": report.skipped_failed,
        "already queued": report.already_queued,
        "private or deleted": report.unavailable,
        "live or upcoming": report.skipped_live,
    }
    name = f"{report.kind} {report.title or report.id}"
    cost = report.estimated_batch_cost_usd if report.batch else report.estimated_cost_usd
    try:
        return alerter.backfill_finished(name, counts, cost)
    finally:
        alerter.close()
