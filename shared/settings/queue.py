"""The queue and the consumer: leases, batches, concurrency, shutdown, retries."""

from __future__ import annotations

from pydantic import Field

from shared.adapter_settings import SqliteQueueSettings
from shared.cloudflare_limits import MAX_DELAY_S, MAX_PULL_BATCH, MAX_RETRIES, MAX_VISIBILITY_S
from shared.settings.storage import EmbeddedFileFields


class QueueConsumerFields(EmbeddedFileFields):
    """``TUBEQ_MAX_RETRIES``, ``TUBEQ_VISIBILITY_TIMEOUT_S``, ``TUBEQ_BATCH_SIZE``, … (the
    limits are Cloudflare Queues', so a setting that works on SQLite works there too)."""

    max_retries: int = Field(
        3,
        ge=0,
        le=MAX_RETRIES,
        description="Retries before a message goes to the dead-letter queue.",
    )
    visibility_timeout_s: float = Field(
        600.0,
        gt=0,
        le=MAX_VISIBILITY_S,
        description="Lease on a pulled message, in seconds (≤ 12 h).",
    )
    batch_size: int = Field(
        10, ge=1, le=MAX_PULL_BATCH, description="Messages pulled per batch (≤ 100)."
    )
    concurrency: int = Field(4, ge=1, le=64, description="Videos processed at once per consumer.")
    poll_interval_s: float = Field(
        1.0, gt=0, description="Wait between pulls when the queue is empty."
    )
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, how long in-flight work may take to finish."
    )
    preflight_wait_s: float = Field(
        120.0,
        ge=0,
        description="At start, how long a consumer waits for unreachable services (then exit 75).",
    )
    consumer_heartbeat_s: float = Field(
        15.0,
        ge=1,
        le=3600,
        description="How often a running consumer refreshes its row in the result store "
        "(the overview's running consumers; not seen for 3 intervals = lost).",
    )
    retry_base_s: float = Field(10.0, gt=0, description="First retry delay (doubles each time).")
    retry_cap_s: float = Field(
        3600.0, gt=0, le=MAX_DELAY_S, description="Longest retry delay, in seconds (≤ 12 h)."
    )
    retry_jitter: float = Field(
        0.5, ge=0, le=1, description="Random share of each retry delay (0 = none, 1 = full)."
    )

    @property
    def sqlite_queue(self) -> SqliteQueueSettings:
        return SqliteQueueSettings(file=self.queue_file, max_retries=self.max_retries)
