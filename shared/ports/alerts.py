"""Where operator alerts go (issue 10): a Slack-compatible webhook, or e-mail over SMTP."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.models import Alert


@runtime_checkable
class AlertSender(Protocol):
    """Where an operator alert goes: a Slack-compatible incoming webhook, e-mail over SMTP
    (``shared.alerts`` decides when; a sender only delivers)."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver it, or raise a ``TubeqError`` (never with a secret in its message)."""
        ...
