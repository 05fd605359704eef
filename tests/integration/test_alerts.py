"""Operator alerts against real servers on 127.0.0.1: a Slack incoming webhook and an SMTP
server (aiosmtpd), started by the tests (``tests.support.alert_servers``).

The alert logic, the senders and the dedupe state are the real ones; so is `tubeq consume`
at the end, run as a process that dead-letters a video and alerts once. What every sender
promises on its own is the contract in ``tests/contract/alert_sender_contract.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.adapter_settings import SmtpAlertSettings
from shared.adapters.smtp_alerts import SmtpAlertSender
from shared.adapters.webhook_alerts import WebhookAlertSender
from shared.alerts import Alerter, AlertLog, ConsumerWatch, alerter_for
from shared.errors import ConfigError, RateLimited
from shared.factory import build_alert_senders
from shared.logging import configure_logging
from shared.settings import Settings
from tests.integration.test_cli import tubeq
from tests.support.alert_servers import WEBHOOK_PATH, SlackWebhook, SmtpServer, rollup_error
from tests.support.services import free_port

pytestmark = pytest.mark.services

SMTP_PASSWORD = "hunter2-smtp-pass"


# ---- the destinations (tests.support.alert_servers) -----------------------------------------


@pytest.fixture
def webhook() -> Iterator[SlackWebhook]:
    hook = SlackWebhook().start()
    yield hook
    hook.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer("ops", SMTP_PASSWORD).start()
    yield server
    server.stop()


def smtp_section(box: SmtpServer, password: str = SMTP_PASSWORD) -> SmtpAlertSettings:
    return SmtpAlertSettings(
        host="127.0.0.1",
        port=box.port,
        security="none",
        username="ops",
        password=SecretStr(password),
        sender="tubeq@example.test",
        recipients=("oncall@example.test", "lead@example.test"),
        timeout_s=5,
    )


@pytest.fixture
def log_lines() -> io.StringIO:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    return out


# ---- the tests ------------------------------------------------------------------------------


def test_dead_letter_threshold_alerts_once_per_crossing(
    tmp_path: Path, webhook: SlackWebhook, smtp: SmtpServer
) -> None:
    alerter = Alerter(
        [WebhookAlertSender(webhook.url, 5), SmtpAlertSender(smtp_section(smtp))],
        AlertLog(tmp_path / "alerts.sqlite3"),
        dlq_threshold=10,
    )
    assert not alerter.dead_letters(9)
    assert alerter.dead_letters(12)
    assert not alerter.dead_letters(13)  # the same event: no second alert
    assert len(webhook.posts) == 1 and len(smtp.mails) == 1
    post = webhook.posts[0]
    assert post.path == WEBHOOK_PATH
    assert "12 messages in the dead-letter queue" in post.shown
    assert "tubeq dlq redrive" in post.shown

    mail = smtp.mails[0]
    assert mail.subject == "[tubeq] 12 messages in the dead-letter queue"
    assert mail.rcpt_tos == ("oncall@example.test", "lead@example.test")
    assert smtp.logins == ["ops"]

    assert not alerter.dead_letters(0)  # redriven: re-armed
    assert alerter.dead_letters(10)
    assert len(webhook.posts) == 2
    alerter.close()


def test_the_dedupe_state_is_shared_by_processes_on_the_machine(
    tmp_path: Path, webhook: SlackWebhook
) -> None:
    # two consumers (two Alerters on one state file) seeing the same event: one alert
    first, second = (
        Alerter([WebhookAlertSender(webhook.url, 5)], AlertLog(tmp_path / "a.sqlite3"))
        for _ in range(2)
    )
    assert first.dead_letters(50)
    assert not second.dead_letters(50)
    assert len(webhook.posts) == 1
    first.close()
    second.close()


def test_a_failed_delivery_is_tried_again_and_never_logs_the_secret(
    tmp_path: Path, webhook: SlackWebhook, smtp: SmtpServer, log_lines: io.StringIO
) -> None:
    webhook.queue(rollup_error())
    bad_login = SmtpAlertSender(smtp_section(smtp, password="wrong-" + SMTP_PASSWORD))
    alerter = Alerter(
        [WebhookAlertSender(webhook.url, 5), bad_login], AlertLog(tmp_path / "alerts.sqlite3")
    )
    assert not alerter.consumer_stopped("access_denied", "the Gemini key was refused", {})
    logged = log_lines.getvalue()
    assert "alert webhook answered HTTP 500" in logged
    assert "refused the login" in logged
    for secret in ("s3cr3tWebhookToken", SMTP_PASSWORD, "T0001"):
        assert secret not in logged

    # the destination is back: the same event is sent now
    assert alerter.consumer_stopped("access_denied", "the Gemini key was refused", {"done": 3})
    assert "the Gemini key was refused" in webhook.posts[-1].shown
    assert not alerter.consumer_stopped("access_denied", "again, after a restart", {})
    alerter.close()


def test_unreachable_destinations_are_logged_without_their_url(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    sender = WebhookAlertSender(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", 2)
    alerter = Alerter([sender], AlertLog(tmp_path / "alerts.sqlite3"))
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    assert not alerter.dead_letters(100)
    assert "unreachable" in out.getvalue() and "s3cr3t" not in out.getvalue()
    alerter.close()


def test_daily_spend_limit_alerts_once_a_day(tmp_path: Path, webhook: SlackWebhook) -> None:
    day = [date(2026, 3, 1)]
    alerter = Alerter(
        [WebhookAlertSender(webhook.url, 5)],
        AlertLog(tmp_path / "alerts.sqlite3"),
        daily_spend_usd=5.0,
        today=lambda: day[0],
    )
    assert not alerter.spend(100.0)  # the day's first check: the baseline
    assert not alerter.spend(104.0)
    assert alerter.spend(105.5)
    assert not alerter.spend(120.0)  # once a day
    day[0] = date(2026, 3, 2)
    assert not alerter.spend(121.0)  # a new day, a new baseline
    assert alerter.spend(127.0)
    texts = [p.shown for p in webhook.posts]
    assert len(texts) == 2 and "$5.5000 spent on model calls on 2026-03-01" in texts[0]
    alerter.close()


def test_backfill_finished_carries_counts_and_cost(tmp_path: Path, webhook: SlackWebhook) -> None:
    alerter = Alerter([WebhookAlertSender(webhook.url, 5)], AlertLog(tmp_path / "a.sqlite3"))
    counts = {"found": 40, "enqueued": 31, "skipped (done)": 9}
    assert not alerter.backfill_finished("@hearth-handplane", counts, 0.42, dry_run=True)
    assert alerter.backfill_finished("@hearth-handplane", counts, 0.42, run_id="r1")
    assert not alerter.backfill_finished("@hearth-handplane", counts, 0.42, run_id="r1")
    text = webhook.posts[0].shown
    assert "31 enqueued" in text and "found: 40" in text and "0.4200" in text
    alerter.close()


def test_a_long_quota_pause_alerts_once_a_day_and_a_short_one_never(
    tmp_path: Path, webhook: SlackWebhook
) -> None:
    day = [date(2026, 3, 1)]
    alerter = Alerter(
        [WebhookAlertSender(webhook.url, 5)],
        AlertLog(tmp_path / "a.sqlite3"),
        quota_pause_s=300,
        today=lambda: day[0],
    )
    watch = ConsumerWatch(alerter, dead_count=lambda: 0, spend_total=lambda: 0.0)
    # the budget's everyday 429: a few seconds' pause is not an operator's problem
    watch.result(False, RateLimited("per-minute quota", retry_after=12))
    assert webhook.posts == []
    daily = RateLimited("GenerateRequestsPerDayPerProjectPerModel exceeded", retry_after=7200)
    watch.result(False, daily)
    watch.result(False, daily)  # every refused call repeats it: still one alert
    day[0] = date(2026, 3, 2)
    watch.result(False, daily)
    texts = [p.shown for p in webhook.posts]
    assert len(texts) == 2
    assert "7,200 s" in texts[0] and "GenerateRequestsPerDayPerProjectPerModel" in texts[0]
    alerter.close()


def test_consumer_watch_checks_spend_at_most_every_interval(
    tmp_path: Path, webhook: SlackWebhook
) -> None:
    asked: list[str] = []

    def spend() -> float:
        asked.append("spend")
        return 0.0

    alerter = Alerter(
        [WebhookAlertSender(webhook.url, 5)], AlertLog(tmp_path / "a.sqlite3"), daily_spend_usd=1
    )
    watch = ConsumerWatch(alerter, dead_count=lambda: 0, spend_total=spend, spend_every_s=60)
    watch.check_spend(now=1000.0)
    watch.check_spend(now=1030.0)
    watch.check_spend(now=1061.0)
    assert asked == ["spend", "spend"]
    alerter.close()


def test_settings_build_both_destinations(
    tmp_path: Path, webhook: SlackWebhook, smtp: SmtpServer
) -> None:
    settings = Settings.load(
        data_dir=tmp_path,
        alert_webhook_url=webhook.url,
        alert_smtp_host="127.0.0.1",
        alert_smtp_port=smtp.port,
        alert_smtp_security="none",
        alert_email_to="oncall@example.test",
    )
    senders = build_alert_senders(settings)
    assert [s.name for s in senders] == ["webhook", "email"]
    alerter = alerter_for(settings, senders)
    assert alerter is not None and alerter.dlq_threshold == 10
    assert alerter_for(Settings.load(data_dir=tmp_path), []) is None
    alerter.close()
    with pytest.raises(ConfigError, match="TUBEQ_ALERT_EMAIL_TO"):
        Settings.load(alert_smtp_host="127.0.0.1")


def test_consume_alerts_once_when_a_video_is_dead_lettered(
    tmp_path: Path, webhook: SlackWebhook
) -> None:
    env = {
        "TUBEQ_ALERT_WEBHOOK_URL": webhook.url,
        "TUBEQ_ALERT_DLQ_THRESHOLD": "1",
        "TUBEQ_MAX_RETRIES": "0",  # the simulated outage dead-letters on its first failure
        "TUBEQ_PREFLIGHT_WAIT_S": "0",
    }
    # tq-sample21: a bundled sample whose transcript service is "down" (a transient error)
    assert tubeq(tmp_path, "enqueue", "tq-sample21", env=env).returncode == 0
    done = tubeq(tmp_path, "consume", "--burst", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dead-lettered 1" in done.stdout
    assert len(webhook.posts) == 1
    assert "1 messages in the dead-letter queue" in webhook.posts[0].shown
    assert "s3cr3tWebhookToken" not in done.stderr + done.stdout

    # a second consumer run sees the same dead letter: no second alert
    again = tubeq(tmp_path, "consume", "--burst", env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(webhook.posts) == 1


def test_a_finished_backfill_alerts_with_its_counts(tmp_path: Path, webhook: SlackWebhook) -> None:
    from producer.backfill import BackfillReport
    from tubeq.cli.alerting import backfill_finished

    settings = Settings.load(data_dir=tmp_path, alert_webhook_url=webhook.url)
    report = BackfillReport(
        kind="channel",
        id="UCBXtYwd-gnTDMPtqsKEefrj",
        title="Hearth & Handplane",
        playlist_id="UUBXtYwd-gnTDMPtqsKEefrj",
        found=6,
        skipped_done=1,
        enqueued=5,
        estimated_input_tokens=1000,
        estimated_output_tokens=100,
        estimated_cost_usd=0.0123,
        estimated_model_calls=5,
        estimated_duration_s=10,
        dry_run=False,
    )
    assert not backfill_finished(settings, report.model_copy(update={"dry_run": True}))
    assert backfill_finished(settings, report)
    text = webhook.posts[0].shown
    assert "backfill of channel Hearth & Handplane finished: 5 enqueued" in text
    assert "already analysed: 1" in text and "0.0123" in text
    assert not backfill_finished(Settings.load(data_dir=tmp_path), report)  # no destination
