"""The queue contract on the Cloudflare Queues adapter, against the local REST stub.

What this proves: the adapter's publish / pull / ack / retry / DLQ calls, run through a
real ``httpx.Client`` over loopback against a server with Cloudflare's documented
semantics (``tests/support/cf_queues_stub.py``), give the same queue behaviour the SQLite
queue gives. What only production can prove: Cloudflare's own wording, limits, timing and
best-effort metrics (see the stub's docstring).

Where Cloudflare differs (not the adapter), the harness says so and the contract adapts:

- Cloudflare reports one number, ``backlog_count`` (every unacknowledged message: ready,
  delayed and in flight together), so ``stats()`` cannot split the backlog
  (``splits_backlog = False``: the contract checks the total only).
- The DLQ keeps no error text (``carries_errors = False``) and no lease can be extended
  (``supports_extend = False``).
- Listing the DLQ costs its messages an attempt there, so the adapter lists it only when
  built with ``dlq_peek=True`` (as here); the API reads dead videos from the result store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.cloudflare_queue import CloudflareQueue
from shared.ports import Queue
from tests.contract.queue_contract import (
    QueueContract,
)
from tests.support.cf_queues_stub import CfQueuesStub

pytestmark = pytest.mark.services


@dataclass
class CloudflareHarness:
    stub: CfQueuesStub
    carries_errors: bool = False
    splits_backlog: bool = False
    supports_extend: bool = False
    made: int = 0

    def make(self, max_retries: int = 3) -> CloudflareQueue:
        self.made += 1
        queue_id, dlq_id = f"jobs{self.made:028d}", f"dead{self.made:028d}"
        # As in wrangler.toml: the DLQ's own consumer allows the most retries, so listing
        # it (which counts an attempt there) never deletes a dead letter.
        self.stub.add_queue(dlq_id, max_retries=100)
        self.stub.add_queue(queue_id, max_retries=max_retries, dead_letter_queue=dlq_id)
        return CloudflareQueue(
            account_id=self.stub.account_id,
            api_token=SecretStr(self.stub.token),
            queue_id=queue_id,
            dlq_id=dlq_id,
            api_url=self.stub.url,
            max_retries=max_retries,
            timeout_s=5.0,
            http_backoff_s=0.01,
            # the contract lists dead letters; on Cloudflare that is the explicit peek
            dlq_peek=True,
        )

    def advance(self, seconds: float) -> None:
        self.stub.advance(seconds)

    def put_raw(self, queue: Queue, body: Any) -> None:
        assert isinstance(queue, CloudflareQueue)
        httpx.post(
            f"{self.stub.url}/accounts/{self.stub.account_id}/queues/{queue.queue_id}/messages",
            headers={"Authorization": f"Bearer {self.stub.token}"},
            json={"body": body, "content_type": "json"},
        ).raise_for_status()


@pytest.fixture
def cf_stub() -> Iterator[CfQueuesStub]:
    with CfQueuesStub() as stub:
        yield stub


class TestCloudflareQueue(QueueContract):
    @pytest.fixture
    def harness(self, cf_stub: CfQueuesStub) -> CloudflareHarness:
        return CloudflareHarness(cf_stub)
