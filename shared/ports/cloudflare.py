"""One Cloudflare account, read and provisioned (``tubeq cloudflare setup``, ``tubeq doctor``)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from shared.cloudflare_types import ConsumerInfo, PullConsumerSpec, QueueInfo


@runtime_checkable
class CloudflareAccount(Protocol):
    """One Cloudflare account's queues, consumers, R2 buckets and KV namespaces, read and
    provisioned (``tubeq cloudflare setup``, ``tubeq doctor``). Creates are not idempotent
    on Cloudflare's side; the setup plan reads first and creates only what is missing."""

    account_id: str

    def list_queues(self) -> list[QueueInfo]: ...

    def get_queue(self, queue_id: str) -> QueueInfo | None: ...

    def create_queue(self, name: str) -> QueueInfo: ...

    def list_consumers(self, queue_id: str) -> list[ConsumerInfo]: ...

    def create_pull_consumer(self, queue_id: str, spec: PullConsumerSpec) -> ConsumerInfo: ...

    def update_pull_consumer(
        self, queue_id: str, consumer_id: str, spec: PullConsumerSpec
    ) -> ConsumerInfo: ...

    def bucket_exists(self, name: str) -> bool: ...

    def create_bucket(self, name: str) -> None: ...

    def lifecycle_rules(self, bucket: str) -> list[dict[str, Any]]: ...

    def put_lifecycle_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None: ...

    def find_kv_namespace(self, title: str) -> str | None: ...

    def create_kv_namespace(self, title: str) -> str: ...

    def close(self) -> None: ...
