"""Message bodies of the Cloudflare queue adapter (``shared.adapters.cloudflare_queue``):
publish entries, counted and cut into batches by ``shared.cloudflare_limits`` (as the Worker's
binding queue cuts them), and pulled bodies read back.

Cloudflare delivers a ``json`` body base64-encoded to an HTTP pull consumer; a body that
arrives as plain JSON is accepted too, and one declared ``text`` is kept as text.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.cloudflare_limits import batches, check_message
from shared.jobs import job_or_raw
from shared.models import DeadLetter

#: a publish entry (``body``, ``content_type``, ``delay_seconds``) and its counted size
Entry = tuple[dict[str, Any], int]


def entry(body: Any, content_type: str, delay: int, label: str) -> Entry:
    """A publish entry and its counted size (``shared.cloudflare_limits``)."""
    size = check_message(body, content_type, label)
    item: dict[str, Any] = {"body": body, "content_type": content_type}
    if delay:
        item["delay_seconds"] = delay
    return item, size


def chunks(entries: Sequence[Entry]) -> Iterator[list[dict[str, Any]]]:
    """The entries cut into publish requests of at most 100 messages and 256 KB."""
    return batches(entries)


def decode_body(raw: Mapping[str, Any]) -> tuple[Any, str]:
    """A pulled body and its content type: base64 JSON (the json type), plain JSON, or text."""
    body = raw.get("body")
    metadata = raw.get("metadata")
    declared = metadata.get("CF-Content-Type") if isinstance(metadata, Mapping) else None
    if not isinstance(body, str):
        return body, "json"
    if declared == "text":
        return body, "text"
    try:
        return json.loads(base64.b64decode(body, validate=True).decode("utf-8")), "json"
    except (binascii.Error, ValueError):
        pass  # not base64 of JSON: maybe the JSON itself
    try:
        return json.loads(body), "json"
    except ValueError:
        return body, "text"


def dead_letter_of(raw: Mapping[str, Any], attempts: int) -> DeadLetter:
    """A message pulled from the DLQ as a ``DeadLetter`` that was delivered ``attempts`` times."""
    body, _ = decode_body(raw)
    return DeadLetter(
        message_id=str(raw.get("id")),
        body=job_or_raw(body),
        # Cloudflare dead-letters after exactly max_retries + 1 deliveries and the DLQ keeps
        # no count of them (its own ``attempts`` counts listings), so it is inferred.
        attempts=attempts,
        last_error=None,  # Cloudflare keeps no error text; the result store has it
        enqueued_at=from_ms(raw.get("timestamp_ms")),
        dead_at=None,
    )


def from_ms(value: Any) -> datetime:
    """A message's ``timestamp_ms`` as a time (now, when it has none)."""
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return datetime.now(UTC)
