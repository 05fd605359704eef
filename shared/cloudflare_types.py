"""What tubeq knows of a Cloudflare account's queues and consumers: plain values shared by
the account adapter (``shared/adapters/cloudflare_account.py``), the setup plan
(``shared/cloudflare_setup.py``) and the doctor's checks, so neither of those imports the
adapter (the factory builds it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ConsumerType = Literal["worker", "http_pull"]


@dataclass(frozen=True)
class QueueInfo:
    id: str
    name: str


@dataclass(frozen=True)
class ConsumerInfo:
    """A queue consumer as Cloudflare reports it (settings as plain numbers)."""

    id: str
    type: ConsumerType
    #: the Worker of a ``worker`` consumer
    script_name: str | None = None
    #: the dead-letter queue's *name*; Cloudflare reports "" when there is none
    dead_letter_queue: str = ""
    settings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PullConsumerSpec:
    """What an HTTP pull consumer should be; ``None`` leaves a setting to Cloudflare."""

    max_retries: int
    visibility_timeout_ms: int
    retry_delay: int | None = None
    dead_letter_queue: str | None = None

    def settings(self) -> dict[str, int]:
        out = {"max_retries": self.max_retries, "visibility_timeout_ms": self.visibility_timeout_ms}
        if self.retry_delay is not None:
            out["retry_delay"] = self.retry_delay
        return out
