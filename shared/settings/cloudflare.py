"""Cloudflare: R2 (artifacts), Queues (the production queue), the account's API, and the
Worker with the backend it forwards to."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from shared.adapter_settings import CloudflareAccountSettings, CloudflareQueueSettings, R2Settings
from shared.settings.queue import QueueConsumerFields


class R2Fields(BaseModel):
    """``TUBEQ_R2_*`` and ``TUBEQ_PRESIGN_EXPIRY_S``."""

    r2_account_id: str | None = Field(None, description="Cloudflare account id for R2.")
    r2_access_key_id: str | None = Field(None, description="R2 API token's access key id.")
    r2_secret_access_key: SecretStr | None = Field(None, description="R2 API token's secret.")
    r2_bucket: str = Field("tubeq-artifacts", description="R2 bucket name.")
    r2_endpoint_url: str | None = Field(
        None, description="Override the S3 endpoint (any S3-compatible server)."
    )
    presign_expiry_s: int = Field(
        3600, ge=1, le=604_800, description="Default lifetime of presigned links (≤ 7 days)."
    )
    r2_connect_timeout_s: float = Field(10.0, gt=0, description="Timeout to connect to R2.")
    r2_read_timeout_s: float = Field(60.0, gt=0, description="Timeout per R2 read, in seconds.")

    @property
    def r2(self) -> R2Settings:
        return R2Settings(
            account_id=self.r2_account_id,
            access_key_id=self.r2_access_key_id,
            secret_access_key=self.r2_secret_access_key,
            bucket=self.r2_bucket,
            endpoint_url=self.r2_endpoint_url,
            presign_expiry_s=self.presign_expiry_s,
            connect_timeout_s=self.r2_connect_timeout_s,
            read_timeout_s=self.r2_read_timeout_s,
        )


class CloudflareFields(QueueConsumerFields):
    """``TUBEQ_CF_*`` (the account, its queues and KV namespace) and
    ``TUBEQ_R2_CACHE_EXPIRY_DAYS`` (the bucket's lifecycle rule, set up with the queues);
    the queue's section reads ``TUBEQ_MAX_RETRIES`` too."""

    cf_account_id: str | None = Field(None, description="Cloudflare account id for Queues.")
    cf_api_token: SecretStr | None = Field(
        None,
        description="Cloudflare API token: Queues Edit (+ R2 and KV Storage Edit for setup).",
    )
    cf_queue_id: str | None = Field(None, description="Id of the jobs queue.")
    cf_dlq_id: str | None = Field(None, description="Id of the dead-letter queue.")
    cf_api_url: str = Field(
        "https://api.cloudflare.com/client/v4", description="Cloudflare API base URL."
    )
    cf_timeout_s: float = Field(
        30.0, gt=0, le=300, description="Timeout per Cloudflare API call, in seconds."
    )
    cf_queue_name: str = Field(
        "tubeq-jobs",
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Name of the jobs queue (`tubeq cloudflare setup` creates it).",
    )
    cf_dlq_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Name of the dead-letter queue (default `<queue name>-dlq`).",
    )
    cf_kv_namespace: str = Field(
        "tubeq-watch", description="Title of the Worker's watch-state KV namespace."
    )
    cf_kv_namespace_id: str | None = Field(
        None, description="Id of that KV namespace (printed by `tubeq cloudflare setup`)."
    )
    r2_cache_expiry_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="R2 lifecycle: delete the Gemini chunk cache (`cache/gemini/`) after N days.",
    )

    @property
    def dead_letter_queue_name(self) -> str:
        return self.cf_dlq_name or f"{self.cf_queue_name}-dlq"

    @property
    def cloudflare_account(self) -> CloudflareAccountSettings:
        return CloudflareAccountSettings(
            account_id=self.cf_account_id,
            api_token=self.cf_api_token,
            api_url=self.cf_api_url,
            timeout_s=self.cf_timeout_s,
        )

    @property
    def cloudflare_queue(self) -> CloudflareQueueSettings:
        return CloudflareQueueSettings(
            account_id=self.cf_account_id,
            api_token=self.cf_api_token,
            api_url=self.cf_api_url,
            timeout_s=self.cf_timeout_s,
            queue_id=self.cf_queue_id,
            dlq_id=self.cf_dlq_id,
            max_retries=self.max_retries,
        )


class WorkerFields(BaseModel):
    """``TUBEQ_WORKER_URL``, ``TUBEQ_BACKEND_*`` and the video ``tubeq doctor`` fetches."""

    worker_url: str | None = Field(
        None, description="The deployed Worker's URL (`tubeq doctor` calls its /healthz)."
    )
    backend_url: str | None = Field(
        None,
        description="Where the Worker forwards what it does not serve (`tubeq serve`'s URL).",
    )
    backend_timeout_s: float = Field(
        30.0, gt=0, le=300, description="Timeout of the Worker's forwarded requests, in seconds."
    )
    doctor_video_id: str = Field(
        "jNQXAC9IVRw",
        pattern=r"^[A-Za-z0-9_-]{11}$",
        description="A public video with captions that `tubeq doctor` fetches a transcript of.",
    )
