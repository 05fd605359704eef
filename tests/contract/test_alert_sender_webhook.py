"""The alert-sender contract on the Slack-compatible webhook sender, against a local Slack
incoming webhook (``tests.support.alert_servers.SlackWebhook``); senders built from settings
by the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from shared.factory import build_alert_senders
from shared.ports import AlertSender
from shared.settings import Settings
from tests.contract.alert_sender_contract import TIMEOUT_S, AlertSenderContract, Shown, alert
from tests.support.alert_servers import WEBHOOK_PATH, SilentServer, SlackWebhook, rollup_error
from tests.support.services import free_port

pytestmark = pytest.mark.services


def sender_for(url: str) -> AlertSender:
    settings = Settings(alert_webhook_url=SecretStr(url), alert_timeout_s=TIMEOUT_S)
    (sender,) = build_alert_senders(settings)
    return sender


@dataclass
class WebhookHarness:
    hook: SlackWebhook
    name: str = "webhook"
    credential_setting: str = "TUBEQ_ALERT_WEBHOOK_URL"
    _silent: list[SilentServer] = field(default_factory=list)

    @property
    def secrets(self) -> tuple[str, ...]:
        # the URL is the credential: its path's token, whichever URL was used
        return (
            "s3cr3tWebhookToken0001",
            "r3vok3dWebhookToken0002",
            "T0001TUBEQ/B0001TUBEQ",
            self.hook.url,
        )

    def make(self) -> AlertSender:
        return sender_for(self.hook.url)

    def make_with_wrong_credential(self) -> AlertSender:
        return sender_for(self.hook.revoked_url)

    def make_unreachable(self) -> AlertSender:
        return sender_for(f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}")

    def make_silent(self) -> AlertSender:
        silent = SilentServer()
        self._silent.append(silent)
        return sender_for(f"http://127.0.0.1:{silent.port}{WEBHOOK_PATH}")

    def refuse_next(self) -> None:
        self.hook.queue(rollup_error())

    def shown(self) -> list[Shown]:
        out = []
        for post in self.hook.posts:
            first, _, body = post.shown.partition("\n")
            # the title is the message's first line, in bold (*…*)
            assert first.startswith("*") and first.endswith("*"), first
            out.append(Shown(title=first[1:-1], body=body, mentions=post.mentions))
        return out

    def close(self) -> None:
        for silent in self._silent:
            silent.stop()


class TestWebhookAlertSender(AlertSenderContract):
    @pytest.fixture
    def harness(self) -> Iterator[WebhookHarness]:
        hook = SlackWebhook().start()
        built = WebhookHarness(hook)
        yield built
        built.close()
        hook.stop()


# ---- Slack only ---------------------------------------------------------------------------


def test_one_json_post_with_a_text_field() -> None:
    hook = SlackWebhook().start()
    try:
        sender_for(hook.url).send(alert())
    finally:
        hook.stop()
    (post,) = hook.posts
    assert post.path == WEBHOOK_PATH
    assert set(post.payload) == {"text"}
