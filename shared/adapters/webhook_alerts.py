"""Alerts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's
``/slack`` endpoint): one JSON POST with a ``text`` field per alert, its words escaped so
that nothing in an alert (a channel's title, an error message) is read as markup.

The webhook URL is the credential (its path holds the token), so no error or log line
quotes it: httpx's own exception messages do, and are never passed on.
"""

from __future__ import annotations

from typing import Self

import httpx

from shared.adapter_settings import WebhookAlertSettings
from shared.errors import ConfigError, UpstreamUnavailable
from shared.models import Alert


class WebhookAlertSender:
    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, section: WebhookAlertSettings) -> Self:
        return cls(section.url.get_secret_value(), section.timeout_s)

    def send(self, alert: Alert) -> None:
        lines = [f"*{_plain(alert.title)}*", _plain(alert.text)]
        lines += [f"• {_plain(name)}: {_plain(value)}" for name, value in alert.fields.items()]
        try:
            reply = httpx.post(self._url, json={"text": "\n".join(lines)}, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            # the class name says what failed; str(exc) may quote the URL (the secret)
            raise UpstreamUnavailable(f"alert webhook unreachable ({type(exc).__name__})") from None
        if reply.status_code in (401, 403, 404, 410):
            # Slack answers 403/404 for a revoked or mistyped webhook: fix the setting
            raise ConfigError(
                f"alert webhook refused the alert (HTTP {reply.status_code}): check "
                "TUBEQ_ALERT_WEBHOOK_URL"
            )
        if reply.status_code >= 300:
            raise UpstreamUnavailable(f"alert webhook answered HTTP {reply.status_code}")


def _plain(text: str) -> str:
    """``text`` shown as written: ``&``, ``<`` and ``>`` are Slack's control characters (a
    title holding ``<!channel>`` would ping the channel, ``<url|label>`` would be a link), so
    they go as the entities Slack decodes (its "Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
