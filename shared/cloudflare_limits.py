"""Cloudflare Queues' message limits, counted one way for both producers of tubeq jobs.

The REST adapter (``shared.adapters.cloudflare_queue``, consumers and the CLI) and the
Worker's binding queue (``producer.worker.binding_queue``) both check and chunk with these,
so a job one of them accepts the other accepts too.

Cloudflare documents (developers.cloudflare.com/queues/platform/limits): a message ≤ 128 KB,
a send batch ≤ 100 messages and ≤ 256 KB, where "1 KB is measured as 1000 bytes" and each
message carries up to ~100 bytes of internal metadata that counts towards the limits. So a
message is counted as its body's bytes on the wire (compact JSON, or the UTF-8 text) plus
``METADATA_BYTES``, and a batch as the sum of its messages. Delays and visibility timeouts
stop at 12 hours; a consumer pulls at most 100 messages; ``max_retries`` goes up to 100.

This module is the one place these numbers live: the settings' bounds, the retry policy's
cap and the embedded SQLite queue (which mimics Cloudflare, so a job that works locally
works in production) all import them from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from shared.errors import InvalidInput

#: "1 KB is measured as 1000 bytes": 128 KB is 128,000 bytes, not 131,072
MAX_MESSAGE_BYTES = 128_000
MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 256_000
#: the longest a message may be delayed (send or retry), and the longest lease
TWELVE_HOURS_S = 12 * 60 * 60
MAX_DELAY_S = TWELVE_HOURS_S
MAX_VISIBILITY_S = TWELVE_HOURS_S
MAX_VISIBILITY_MS = MAX_VISIBILITY_S * 1000
#: messages per pull (HTTP pull consumers) or per consumer batch (Worker consumers)
MAX_PULL_BATCH = 100
#: a consumer's ``max_retries`` (default 3)
MAX_RETRIES = 100
#: Cloudflare's per-message internal metadata, counted against both limits
METADATA_BYTES = 100

Item = TypeVar("Item")


def message_bytes(body: Any, content_type: str = "json") -> int:
    """What one message counts against the limits: its body as sent, plus the metadata."""
    if content_type == "text" and isinstance(body, str):
        data = body.encode("utf-8")
    else:
        # \u escapes: never fewer bytes than the UTF-8 a client may send, so never too few
        data = json.dumps(body, separators=(",", ":")).encode("ascii")
    return len(data) + METADATA_BYTES


def check_message(body: Any, content_type: str, label: str) -> int:
    """The message's counted size; refuses one over the per-message limit, saying why."""
    size = message_bytes(body, content_type)
    if size > MAX_MESSAGE_BYTES:
        raise InvalidInput(
            f"the message for {label} counts {size:,} bytes (body + {METADATA_BYTES} bytes of "
            f"Cloudflare metadata); a queue message holds at most {MAX_MESSAGE_BYTES:,} bytes "
            "— a job carries an id and options, never a transcript: trim its meta"
        )
    return size


def check_delay(delay_s: int) -> int:
    if not 0 <= delay_s <= MAX_DELAY_S:
        raise InvalidInput(f"delay must be 0 to {MAX_DELAY_S} seconds (12 h), got {delay_s}")
    return int(delay_s)


def batches(sized: Sequence[tuple[Item, int]]) -> Iterator[list[Item]]:
    """Greedy batches of ≤ 100 items whose counted sizes sum to ≤ 256,000 bytes."""
    batch: list[Item] = []
    total = 0
    for item, size in sized:
        if batch and (len(batch) >= MAX_BATCH_MESSAGES or total + size > MAX_BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch
