"""The alert-sender contract: one suite every ``shared.ports.AlertSender`` keeps (a Slack
incoming webhook, e-mail over SMTP).

An adapter's test module subclasses ``AlertSenderContract`` and provides a ``harness``
fixture returning an ``AlertHarness``: a real destination on 127.0.0.1
(``tests.support.alert_servers``) and senders built from settings by
``shared.factory.build_alert_senders``, pointed at it, at it with a wrong credential, or at
a port where nothing answers.

A sender only delivers (``shared.alerts`` decides when, and sends each alert once), so the
promises pinned here are: each ``send`` is one message that shows the alert's title, text
and every field exactly as given, whatever characters they hold (a destination's markup is
escaped, so a title cannot ping a channel or turn into a link); a credential the
destination refuses is a ``ConfigError`` naming the setting to fix; a destination that is
down, refuses for now, or does not answer within the timeout is an ``UpstreamUnavailable``
(tried again at the next check); and no error message, nor anything chained to it, holds a
secret (the webhook URL's token, the SMTP password).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pytest

from shared.errors import ConfigError, TubeqError, UpstreamUnavailable
from shared.models import Alert
from shared.ports import AlertSender

#: the senders' timeout (TUBEQ_ALERT_TIMEOUT_S): a silent destination is given up on after it
TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Shown:
    """One message as its reader sees it."""

    title: str
    body: str
    #: who it notified besides the usual readers (Slack mentions; e-mail: none)
    mentions: tuple[str, ...] = ()


def alert(**overrides: object) -> Alert:
    values: dict[str, object] = {
        "kind": "dlq_threshold",
        "title": "12 messages in the dead-letter queue",
        "text": "Run `tubeq dlq list`, fix the cause, then `tubeq dlq redrive --all`.",
        "dedupe_key": "dlq:12",
        "fields": {"dead letters": "12", "threshold": "10"},
    }
    return Alert.model_validate(values | overrides)


class AlertHarness(Protocol):
    #: the sender's ``name``
    name: str
    #: what must never appear in an error (the credentials of the destination)
    secrets: tuple[str, ...]
    #: the setting a refused credential's message names
    credential_setting: str

    def make(self) -> AlertSender:
        """A sender for the harness's destination, built from settings."""
        ...

    def make_with_wrong_credential(self) -> AlertSender: ...

    def make_unreachable(self) -> AlertSender:
        """A sender for a port where nothing listens."""
        ...

    def make_silent(self) -> AlertSender:
        """A sender for a server that accepts the connection and never answers."""
        ...

    def refuse_next(self) -> None:
        """The destination refuses the next message for now (a server error, try later)."""
        ...

    def shown(self) -> list[Shown]:
        """What the destination delivered, in order, as its readers see it."""
        ...


class AlertSenderContract:
    """Subclass as ``Test<Adapter>AlertSender`` and provide a ``harness`` fixture."""

    def assert_no_secret(self, harness: AlertHarness, error: BaseException) -> None:
        seen: BaseException | None = error
        while seen is not None:  # the error and everything chained to it
            text = f"{seen!s} {seen!r} {getattr(seen, 'message', '')}"
            for secret in harness.secrets:
                assert secret not in text, f"{type(seen).__name__} holds a secret: {text}"
            seen = seen.__cause__ or seen.__context__

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(self, harness: AlertHarness) -> None:
        sender = harness.make()
        assert isinstance(sender, AlertSender)
        assert sender.name == harness.name

    # ---- delivering -------------------------------------------------------------------
    def test_an_alert_is_one_message_with_its_title_text_and_fields(
        self, harness: AlertHarness
    ) -> None:
        harness.make().send(alert())
        (shown,) = harness.shown()
        assert shown.title == "12 messages in the dead-letter queue"
        assert "Run `tubeq dlq list`, fix the cause, then `tubeq dlq redrive --all`." in shown.body
        lines = shown.body.splitlines()
        for name, value in alert().fields.items():
            assert any(name in line and line.rstrip().endswith(value) for line in lines), name
        assert shown.mentions == ()

    def test_every_send_is_delivered(self, harness: AlertHarness) -> None:
        # dedupe is shared.alerts' job: a sender asked twice delivers twice
        sender = harness.make()
        sender.send(alert(title="first"))
        sender.send(alert(title="second"))
        assert [s.title for s in harness.shown()] == ["first", "second"]

    def test_any_text_arrives_as_written(self, harness: AlertHarness) -> None:
        odd = alert(
            title="Spend passed $5 — «Zoë» 🚨 & <b>now</b>",
            text="Channel <!channel> <https://evil.example|click> & Café > 3 日本語\nline two",
            fields={"channel": "Ça & <Co>", "cost": "$5.50"},
        )
        harness.make().send(odd)
        (shown,) = harness.shown()
        assert shown.title == odd.title, shown
        assert odd.text in shown.body, shown
        assert "Ça & <Co>" in shown.body
        assert shown.mentions == ()  # a title or text from outside never pings anyone

    # ---- failing ----------------------------------------------------------------------
    def test_a_refused_credential_is_a_config_error_naming_the_setting(
        self, harness: AlertHarness
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            harness.make_with_wrong_credential().send(alert())
        assert harness.credential_setting in caught.value.message
        self.assert_no_secret(harness, caught.value)
        assert harness.shown() == []

    def test_a_destination_that_refuses_for_now_is_unavailable(self, harness: AlertHarness) -> None:
        harness.refuse_next()
        sender = harness.make()
        with pytest.raises(UpstreamUnavailable) as caught:
            sender.send(alert())
        self.assert_no_secret(harness, caught.value)
        sender.send(alert())  # the next check tries again, and it goes through
        assert len(harness.shown()) == 1

    def test_an_unreachable_destination_is_unavailable_without_its_secrets(
        self, harness: AlertHarness
    ) -> None:
        with pytest.raises(UpstreamUnavailable) as caught:
            harness.make_unreachable().send(alert())
        self.assert_no_secret(harness, caught.value)

    def test_a_destination_that_never_answers_times_out(self, harness: AlertHarness) -> None:
        with pytest.raises(UpstreamUnavailable) as caught:
            harness.make_silent().send(alert())  # the per-test timeout catches a hang
        self.assert_no_secret(harness, caught.value)

    def test_every_error_is_a_tubeq_error(self, harness: AlertHarness) -> None:
        for make in (harness.make_unreachable, harness.make_with_wrong_credential):
            with pytest.raises(TubeqError):
                make().send(alert())
