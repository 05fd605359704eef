"""Operator alerts (issue 10): a Slack-compatible webhook, e-mail, and when to send."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.adapter_settings import SmtpAlertSettings, WebhookAlertSettings
from shared.settings.comma_lists import CommaList
from shared.settings.storage import GeneralFields


class AlertFields(GeneralFields):
    """``TUBEQ_ALERT_*`` (the state file defaults to one under ``TUBEQ_DATA_DIR``)."""

    alert_webhook_url: SecretStr | None = Field(
        None, description="Slack-compatible incoming webhook for alerts (its path is a secret)."
    )
    alert_smtp_host: str | None = Field(None, description="SMTP server for e-mail alerts.")
    alert_smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    alert_smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="`starttls` (port 587), `tls` (465) or `none` (a local relay)."
    )
    alert_smtp_username: str | None = Field(None, description="SMTP login, if it needs one.")
    alert_smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    alert_email_from: str = Field("tubeq@localhost", description="Sender of alert e-mails.")
    alert_email_to: CommaList = Field(
        default_factory=list, description="Recipients of alert e-mails, comma-separated."
    )
    alert_dlq_threshold: int = Field(
        10, ge=0, description="Alert when this many messages are dead letters (0: never)."
    )
    alert_daily_spend_usd: float | None = Field(
        None, gt=0, description="Alert when a UTC day's model spend passes this many USD."
    )
    alert_quota_pause_s: float = Field(
        300.0,
        gt=0,
        description="Alert when Gemini refuses a call and asks for a pause at least this long "
        "(a daily quota used up, or a quota far below TUBEQ_GEMINI_RPM/TPM).",
    )
    alert_timeout_s: float = Field(10.0, gt=0, le=120, description="Timeout per alert sent.")
    alert_state_path: Path | None = Field(
        None,
        description="Which alerts were sent, so each goes once "
        "(default `<data_dir>/alerts.sqlite3`).",
    )

    @property
    def alert_state_file(self) -> Path:
        return self.alert_state_path or self.data_dir / "alerts.sqlite3"

    @property
    def webhook_alerts(self) -> WebhookAlertSettings | None:
        """The webhook alert section, when a webhook is set."""
        if self.alert_webhook_url is None or not self.alert_webhook_url.get_secret_value():
            return None
        return WebhookAlertSettings(url=self.alert_webhook_url, timeout_s=self.alert_timeout_s)

    @property
    def smtp_alerts(self) -> SmtpAlertSettings | None:
        """The e-mail alert section, when an SMTP server is set."""
        if not self.alert_smtp_host:
            return None
        return SmtpAlertSettings(
            host=self.alert_smtp_host,
            port=self.alert_smtp_port,
            security=self.alert_smtp_security,
            username=self.alert_smtp_username,
            password=self.alert_smtp_password,
            sender=self.alert_email_from,
            recipients=tuple(self.alert_email_to),
            timeout_s=self.alert_timeout_s,
        )
