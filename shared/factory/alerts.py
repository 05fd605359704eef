"""Where alerts go: a webhook, e-mail, both or none."""

from __future__ import annotations

from shared.factory._load import adapter
from shared.ports import AlertSender
from shared.settings import Settings

_ALERTS = {
    "webhook": "shared.adapters.webhook_alerts:WebhookAlertSender",
    "email": "shared.adapters.smtp_alerts:SmtpAlertSender",
}


def build_alert_senders(settings: Settings) -> list[AlertSender]:
    """Every configured alert destination (a webhook, e-mail): none when none is set."""
    senders: list[AlertSender] = []
    for name, section in (("webhook", settings.webhook_alerts), ("email", settings.smtp_alerts)):
        if section is not None:
            senders.append(adapter(_ALERTS, name).from_settings(section))
    return senders
