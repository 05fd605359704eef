"""The work queue (embedded SQLite or Cloudflare Queues) and the Cloudflare account API."""

from __future__ import annotations

from shared.factory._load import adapter
from shared.ports import CloudflareAccount, Queue
from shared.settings import Settings

_QUEUES = {
    "sqlite": "shared.adapters.sqlite_queue:SqliteQueue",
    "cloudflare": "shared.adapters.cloudflare_queue:CloudflareQueue",
}
_CLOUDFLARE_ACCOUNT = {"cloudflare": "shared.adapters.cloudflare_account:CloudflareAccount"}


def build_queue(settings: Settings) -> Queue:
    name = settings.queue_backend
    section = settings.cloudflare_queue if name == "cloudflare" else settings.sqlite_queue
    queue: Queue = adapter(_QUEUES, name).from_settings(section)
    return queue


def build_cloudflare_account(settings: Settings, *, max_retries: int = 2) -> CloudflareAccount:
    """The Cloudflare account API (``tubeq cloudflare setup``, ``tubeq doctor``), whatever
    queue is selected; ``max_retries``: the SDK's own replays (the doctor wants none)."""
    cls = adapter(_CLOUDFLARE_ACCOUNT, "cloudflare")
    account: CloudflareAccount = cls.from_settings(
        settings.cloudflare_account, max_retries=max_retries
    )
    return account
