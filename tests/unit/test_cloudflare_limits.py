"""Both producers of Cloudflare messages — the REST adapter and the Worker's binding queue —
count sizes and cut batches the same way (``shared.cloudflare_limits``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from producer.worker.binding_queue import BindingQueue
from shared.adapters import _cloudflare_queue_messages as rest
from shared.cloudflare_limits import MAX_MESSAGE_BYTES, METADATA_BYTES, message_bytes
from shared.errors import InvalidInput
from shared.models import VideoJob, VideoMeta
from tests.support.fake_workers import FakeQueueBinding


def job(n: int, title_len: int) -> VideoJob:
    vid = f"lm{n:09d}"
    return VideoJob(video_id=vid, source="t", meta=VideoMeta(video_id=vid, title="é" * title_len))


def binding_batches(jobs: list[VideoJob]) -> list[int]:
    binding = FakeQueueBinding()
    asyncio.run(BindingQueue(binding, to_js=lambda v: v).send(jobs))
    return [len(b) for b in binding.batches]


def rest_batches(jobs: list[VideoJob]) -> list[int]:
    entries = [rest.entry(j.envelope().wire(), "json", 0, j.label) for j in jobs]
    return [len(chunk) for chunk in rest.chunks(entries)]


def largest_title() -> int:
    """The longest title (of a non-ASCII letter: 6 bytes escaped) that still fits."""
    base = message_bytes(job(1, 0).envelope().wire())
    return (MAX_MESSAGE_BYTES - base) // 6


def test_one_message_limit_is_the_same_for_both() -> None:
    fits, over = job(1, largest_title()), job(2, largest_title() + 1)
    assert message_bytes(fits.envelope().wire()) <= MAX_MESSAGE_BYTES
    assert rest_batches([fits]) == binding_batches([fits]) == [1]
    with pytest.raises(InvalidInput, match="lm000000002 counts") as from_rest:
        rest_batches([fits, over])
    binding = FakeQueueBinding()
    with pytest.raises(InvalidInput, match="lm000000002 counts") as from_binding:
        asyncio.run(BindingQueue(binding, to_js=lambda v: v).send([fits, over]))
    assert str(from_rest.value) == str(from_binding.value)
    assert binding.batches == []  # nothing half-sent


@pytest.mark.parametrize(
    ("count", "title_len"), [(250, 10), (10, 10_000), (7, largest_title()), (101, 0)]
)
def test_batches_are_cut_the_same_way(count: int, title_len: int) -> None:
    jobs = [job(n, title_len) for n in range(count)]
    cut = rest_batches(jobs)
    assert cut == binding_batches(jobs)
    assert sum(cut) == count and max(cut) <= 100


def test_metadata_counts_against_the_limit() -> None:
    body: dict[str, Any] = {"video_id": "x"}
    assert message_bytes(body) == len(b'{"video_id":"x"}') + METADATA_BYTES
    assert message_bytes("héllo", "text") == len("héllo".encode()) + METADATA_BYTES
