"""The alert-sender contract on the e-mail sender, against aiosmtpd on 127.0.0.1 with a
login (``tests.support.alert_servers.SmtpServer``); senders built from settings by the
factory. (Plain SMTP: STARTTLS and implicit TLS would need a certificate the system trusts.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from shared.factory import build_alert_senders
from shared.ports import AlertSender
from shared.settings import Settings
from tests.contract.alert_sender_contract import TIMEOUT_S, AlertSenderContract, Shown, alert
from tests.support.alert_servers import SilentServer, SmtpServer
from tests.support.services import free_port

pytestmark = pytest.mark.services

USERNAME = "ops"
PASSWORD = "hunter2-smtp-pass"
WRONG = "wrong-hunter2-smtp-pass"
RECIPIENTS = ("oncall@example.test", "lead@example.test")


def sender_for(port: int, password: str = PASSWORD) -> AlertSender:
    settings = Settings(
        alert_smtp_host="127.0.0.1",
        alert_smtp_port=port,
        alert_smtp_security="none",
        alert_smtp_username=USERNAME,
        alert_smtp_password=SecretStr(password),
        alert_email_from="tubeq@example.test",
        alert_email_to=",".join(RECIPIENTS),
        alert_timeout_s=TIMEOUT_S,
    )
    (sender,) = build_alert_senders(settings)
    return sender


@dataclass
class SmtpHarness:
    server: SmtpServer
    name: str = "email"
    credential_setting: str = "TUBEQ_ALERT_SMTP_PASSWORD"
    secrets: tuple[str, ...] = (PASSWORD, WRONG)
    _silent: list[SilentServer] = field(default_factory=list)

    def make(self) -> AlertSender:
        return sender_for(self.server.port)

    def make_with_wrong_credential(self) -> AlertSender:
        return sender_for(self.server.port, WRONG)

    def make_unreachable(self) -> AlertSender:
        return sender_for(free_port())

    def make_silent(self) -> AlertSender:
        silent = SilentServer()
        self._silent.append(silent)
        return sender_for(silent.port)

    def refuse_next(self) -> None:
        self.server.refusals.append("451 4.3.0 Mailbox busy, try again later")

    def shown(self) -> list[Shown]:
        out = []
        for mail in self.server.mails:
            assert mail.subject.startswith("[tubeq] "), mail.subject
            out.append(Shown(title=mail.subject.removeprefix("[tubeq] "), body=mail.body))
        return out

    def close(self) -> None:
        for silent in self._silent:
            silent.stop()


class TestSmtpAlertSender(AlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[SmtpHarness]:
        server = SmtpServer(USERNAME, PASSWORD).start()
        built = SmtpHarness(server)
        yield built
        built.close()
        server.stop()


# ---- e-mail only --------------------------------------------------------------------------


def test_one_message_to_every_recipient_after_the_login() -> None:
    server = SmtpServer(USERNAME, PASSWORD).start()
    try:
        sender_for(server.port).send(alert())
    finally:
        server.stop()
    (mail,) = server.mails
    assert mail.rcpt_tos == RECIPIENTS
    assert (mail.mail_from, mail.message["From"]) == ("tubeq@example.test", "tubeq@example.test")
    assert mail.message["To"] == ", ".join(RECIPIENTS)
    assert server.logins == [USERNAME]
