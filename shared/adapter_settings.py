"""Each adapter's own small settings section, cut from the one ``Settings``.

An adapter's ``from_settings`` takes its section, never the whole ``Settings`` (arq's
``RedisSettings`` is the model): the section says exactly what the adapter reads, a test
builds one in a line, and an adapter cannot grow a dependency on an unrelated setting
unnoticed. ``Settings`` builds them (``settings.gemini``, ``settings.r2``, …); the
composition root (``shared.factory``) passes each adapter its own.

Field names drop the ``TUBEQ_<ADAPTER>_`` prefix; the docstring of each section says which
environment variables its fields come from, for error messages that name them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SqliteQueueSettings(_Section):
    """``TUBEQ_QUEUE_PATH`` (default ``<data_dir>/queue.sqlite3``), ``TUBEQ_MAX_RETRIES``."""

    file: Path
    max_retries: int = 3


class CloudflareAccountSettings(_Section):
    """``TUBEQ_CF_ACCOUNT_ID``, ``TUBEQ_CF_API_TOKEN``, ``TUBEQ_CF_API_URL``,
    ``TUBEQ_CF_TIMEOUT_S``: the account API (``tubeq cloudflare setup``, ``tubeq doctor``)."""

    account_id: str | None = None
    api_token: SecretStr | None = None
    api_url: str = "https://api.cloudflare.com/client/v4"
    timeout_s: float = 30.0


class CloudflareQueueSettings(CloudflareAccountSettings):
    """The account's fields, ``TUBEQ_CF_QUEUE_ID``, ``TUBEQ_CF_DLQ_ID`` and
    ``TUBEQ_MAX_RETRIES`` (what ``tubeq cloudflare setup`` gave the pull consumer)."""

    queue_id: str | None = None
    dlq_id: str | None = None
    max_retries: int = 3


class DirectoryTranscriptSettings(_Section):
    """``TUBEQ_TRANSCRIPTS_DIR``."""

    directory: Path


class YouTubeTranscriptSettings(_Section):
    """``TUBEQ_YOUTUBE_*`` (transcripts), ``TUBEQ_WEBSHARE_PROXY_*``, ``TUBEQ_HTTP(S)_PROXY``."""

    languages: tuple[str, ...] = ("en",)
    translate_to: str | None = None
    prefer_manual: bool = True
    proxy: Literal["none", "webshare", "generic"] = "none"
    webshare_username: str | None = None
    webshare_password: SecretStr | None = None
    webshare_locations: tuple[str, ...] = ()
    http_proxy: SecretStr | None = None
    https_proxy: SecretStr | None = None
    base_url: str = "https://www.youtube.com"
    timeout_s: float = 30.0


class DirectoryListingSettings(_Section):
    """``TUBEQ_LISTINGS_DIR`` (default: the bundled samples' listings)."""

    folder: Path


class YouTubeDataApiSettings(_Section):
    """``TUBEQ_YOUTUBE_API_KEY``, ``_URL``, ``_TIMEOUT_S``, ``_RETRY_WAIT_S`` (the Data API
    v3, for channel and playlist listings)."""

    api_key: SecretStr | None = None
    base_url: str = "https://www.googleapis.com/youtube/v3"
    timeout_s: float = 20.0
    retry_wait_s: float = 1.0


class ExtractiveSettings(_Section):
    """The offline analyzer has nothing to configure; the section exists so every analyzer
    is built the same way."""


class GeminiSettings(_Section):
    """``TUBEQ_GEMINI_*`` and ``TUBEQ_PROMPT_VERSION``; ``tpm`` and ``lease_s`` are only read
    to refuse, at start, settings under which an analysis could never finish."""

    api_key: SecretStr | None = None
    model: str = "gemini-3.1-flash-lite"
    base_url: str | None = None
    temperature: float = 1.0
    timeout_s: float = 120.0
    prompt_version: str = "p1"
    chunk_tokens: int = 200_000
    max_output_tokens: int = 8192
    price_input_per_m: float = 0.25
    price_output_per_m: float = 1.50
    budget_wait_s: float = 120.0
    #: ``TUBEQ_GEMINI_TPM``: a chunk must fit this machine's per-minute token budget
    tpm: int = 1_000_000
    #: ``TUBEQ_VISIBILITY_TIMEOUT_S``: a call (budget wait + timeout) must fit a message's lease
    lease_s: float = 600.0


class SqliteStoreSettings(_Section):
    """``TUBEQ_RESULTS_PATH`` (default ``<data_dir>/results.sqlite3``): the SQLite result
    store's file, which also holds its batches, consumers, search index and template results
    (the adapters for those share this section)."""

    file: Path


class SqliteVectorSettings(_Section):
    """``TUBEQ_RESULTS_PATH`` (the passages to embed) and ``TUBEQ_VECTORS_PATH`` (default
    ``<data_dir>/vectors.sqlite3``, the sqlite-vec file)."""

    results_file: Path
    vectors_file: Path


class PostgresSettings(_Section):
    """``TUBEQ_DATABASE_URL``, ``TUBEQ_DATABASE_POOL_SIZE``, ``TUBEQ_DATABASE_TIMEOUT_S``:
    every adapter on the Postgres result database (results, batches, search, vectors,
    template results) takes this section; the one-connection ones ignore ``pool_size``."""

    #: the DSN carries the password: kept secret
    dsn: SecretStr | None = None
    pool_size: int = 4
    timeout_s: float = 30.0


class SupabaseSettings(_Section):
    """``TUBEQ_SUPABASE_URL``, ``TUBEQ_SUPABASE_SERVICE_ROLE_KEY``, ``TUBEQ_SUPABASE_TIMEOUT_S``:
    every adapter on the Supabase result database takes this section."""

    url: str | None = None
    service_role_key: SecretStr | None = None
    timeout_s: float = 30.0


class RateBudgetSettings(_Section):
    """``TUBEQ_RATE_BUDGET_*``, ``TUBEQ_GEMINI_BUDGET_PATH``, ``TUBEQ_GEMINI_RPM``,
    ``TUBEQ_GEMINI_TPM``; for the fleet budget (``backend="results"``) the result store's
    ``TUBEQ_RESULTS_BACKEND`` and that database's own section (``postgres`` or ``supabase``,
    the same ones the result store gets)."""

    #: ``local``: the SQLite file every consumer on this machine shares; ``results``: the
    #: result database every machine of a fleet shares
    backend: Literal["local", "results"] = "local"
    path: Path
    #: "per minute" names Gemini's quota; the window they are counted over is ``window_s``
    requests_per_minute: int = 60
    tokens_per_minute: int = 1_000_000
    window_s: float = 60.0
    margin_s: float = 0.25
    burst_s: float = 0.5
    results_backend: Literal["sqlite", "postgres", "supabase"] = "sqlite"
    #: held, not re-typed: a field the result database's section gains reaches the budget too
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    supabase: SupabaseSettings = Field(default_factory=SupabaseSettings)


class LocalArtifactSettings(_Section):
    """``TUBEQ_ARTIFACTS_DIR`` (default ``<data_dir>/artifacts``)."""

    folder: Path


class R2Settings(_Section):
    """``TUBEQ_R2_*`` and ``TUBEQ_PRESIGN_EXPIRY_S``."""

    account_id: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    bucket: str = "tubeq-artifacts"
    endpoint_url: str | None = None
    presign_expiry_s: int = 3600
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


class WebhookAlertSettings(_Section):
    """``TUBEQ_ALERT_WEBHOOK_URL``, ``TUBEQ_ALERT_TIMEOUT_S``."""

    #: a Slack-style webhook URL carries its credential in the path: kept secret
    url: SecretStr
    timeout_s: float = 10.0


class SmtpAlertSettings(_Section):
    """``TUBEQ_ALERT_SMTP_*``, ``TUBEQ_ALERT_EMAIL_FROM``/``_TO``, ``TUBEQ_ALERT_TIMEOUT_S``."""

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "tubeq@localhost"
    recipients: tuple[str, ...] = ()
    timeout_s: float = 10.0
