"""The batch handlers' settings (``TUBEQ_GEMINI_BATCH_*``): apart from the handlers, which
all read it, so that ``batch`` and ``batch_poll`` do not import each other."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import Settings


@dataclass(frozen=True)
class BatchConfig:
    """The batch settings (``TUBEQ_GEMINI_BATCH_*``) the handlers read."""

    max_requests: int = 500
    max_age_s: int = 900
    poll_s: int = 60
    poll_max_s: int = 1800
    failed_online: bool = True
    max_tries: int = 2
    #: a cancelled batch's videos are collected again (else failed with batch_cancelled)
    cancelled_requeue: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchConfig:
        return cls(
            max_requests=settings.gemini_batch_max_requests,
            max_age_s=settings.gemini_batch_max_age_s,
            poll_s=settings.gemini_batch_poll_s,
            poll_max_s=settings.gemini_batch_poll_max_s,
            failed_online=settings.gemini_batch_failed_online,
            max_tries=settings.gemini_batch_max_tries,
            cancelled_requeue=settings.gemini_batch_cancelled == "requeue",
        )

    def poll_delay(self, polls: int) -> int:
        """Doubling from ``poll_s`` up to ``poll_max_s``: a batch usually takes minutes to
        hours, and every poll is a request against the quota."""
        return int(min(self.poll_max_s, self.poll_s * (2 ** min(polls, 16))))
