"""Alerts by e-mail over SMTP (``smtplib``): STARTTLS, implicit TLS, or plain for a local
relay; a login when a username is set. One message per alert to every recipient.

Errors name the server and the SMTP reply code, never the password (``smtplib`` never puts
it in an exception either; the server's reply text is left out, as it may echo input).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Self

from shared.adapter_settings import SmtpAlertSettings
from shared.errors import ConfigError, UpstreamUnavailable
from shared.models import Alert


class SmtpAlertSender:
    name = "email"

    def __init__(self, section: SmtpAlertSettings) -> None:
        self._s = section

    @classmethod
    def from_settings(cls, section: SmtpAlertSettings) -> Self:
        return cls(section)

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[tubeq] {alert.title}"
        msg["From"] = self._s.sender
        msg["To"] = ", ".join(self._s.recipients)
        body = [alert.text, ""] + [f"{name}: {value}" for name, value in alert.fields.items()]
        msg.set_content("\n".join(body))
        return msg

    def send(self, alert: Alert) -> None:
        s = self._s
        where = f"{s.host}:{s.port}"
        try:
            client: smtplib.SMTP
            if s.security == "tls":
                context = ssl.create_default_context()
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    self._login(client, where)
                client.send_message(self.message(alert))
        except ConfigError:
            raise
        except smtplib.SMTPResponseException as exc:
            raise UpstreamUnavailable(
                f"SMTP server {where} refused the alert (code {exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise UpstreamUnavailable(
                f"SMTP server {where} unreachable ({type(exc).__name__})"
            ) from None

    def _login(self, client: smtplib.SMTP, where: str) -> None:
        password = self._s.password.get_secret_value() if self._s.password else ""
        try:
            client.login(self._s.username or "", password)
        except smtplib.SMTPException as exc:
            # smtplib tries each mechanism in turn; some servers hang up after a refused
            # one (SMTPServerDisconnected) instead of answering 535: a refusal either way
            code = getattr(exc, "smtp_code", None)
            raise ConfigError(
                f"SMTP server {where} refused the login"
                + (f" (code {code})" if code else "")
                + ": check TUBEQ_ALERT_SMTP_USERNAME and TUBEQ_ALERT_SMTP_PASSWORD"
            ) from None
