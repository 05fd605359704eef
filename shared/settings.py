"""All of tubeq's configuration: ``TUBEQ_*`` environment variables or a ``.env`` file.

Parsed once, at the entry point, into one frozen ``Settings`` that is passed down; no module
reads the environment on its own. ``Settings.load()`` checks that every selected production
backend has what it needs and raises ``ConfigError`` naming the variable, so a fleet fails
at start, never halfway through a batch.

The README's configuration table is generated from the field descriptions here
(``python scripts/settings_table.py``); keep descriptions short and useful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.adapter_settings import (
    DirectoryTranscriptSettings,
    ExtractiveSettings,
    GeminiSettings,
    LocalArtifactSettings,
    R2Settings,
    RateBudgetSettings,
    SmtpAlertSettings,
    WebhookAlertSettings,
    YouTubeTranscriptSettings,
)
from shared.cloudflare_limits import MAX_DELAY_S, MAX_PULL_BATCH, MAX_RETRIES, MAX_VISIBILITY_S
from shared.errors import ConfigError


def _bundled_samples() -> Path:
    """The sample transcripts: in a checkout, or shipped in the wheel as ``tubeq_samples``."""
    repo = Path(__file__).resolve().parent.parent / "samples" / "transcripts"
    if repo.is_dir():
        return repo
    import importlib.util

    spec = importlib.util.find_spec("tubeq_samples")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "transcripts"
    return repo


BUNDLED_SAMPLES = _bundled_samples()
#: the sample channels' listings, next to the sample transcripts (Data API reply shapes)
BUNDLED_LISTINGS = BUNDLED_SAMPLES.parent / "listings"

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUBEQ_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # ---- general ------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".tubeq"), description="Folder for the embedded backends' files (SQLite, artifacts)."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="`json` for machines, `console` for people; `auto` picks by TTY."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level printed."
    )

    # ---- backends -----------------------------------------------------------------------
    queue_backend: Literal["sqlite", "cloudflare"] = Field(
        "sqlite", description="Where jobs wait: a local SQLite file or Cloudflare Queues."
    )
    transcript_backend: Literal["directory", "youtube"] = Field(
        "directory", description="Where transcripts come from: sample files or YouTube."
    )
    analyzer_backend: Literal["extractive", "gemini"] = Field(
        "extractive", description="Who analyses: the offline extractive analyzer or Gemini."
    )
    results_backend: Literal["sqlite", "postgres", "supabase"] = Field(
        "sqlite", description="Where rows go: SQLite, Postgres (psycopg) or Supabase (HTTPS)."
    )
    artifacts_backend: Literal["local", "r2"] = Field(
        "local", description="Where artifacts go: a local folder or Cloudflare R2 (S3 API)."
    )

    # ---- embedded backends --------------------------------------------------------------
    queue_path: Path | None = Field(
        None, description="SQLite queue file (default `<data_dir>/queue.sqlite3`)."
    )
    results_path: Path | None = Field(
        None, description="SQLite results file (default `<data_dir>/results.sqlite3`)."
    )
    artifacts_dir: Path | None = Field(
        None, description="Local artifact folder (default `<data_dir>/artifacts`)."
    )
    journal_dir: Path | None = Field(
        None,
        description="Where a consumer keeps a paid model reply until the result store has it "
        "(default `<data_dir>/journal`).",
    )
    transcripts_dir: Path = Field(
        BUNDLED_SAMPLES, description="Folder the directory transcript source reads."
    )
    templates_dir: Path | None = Field(
        None,
        description="Folder of user analysis templates, one `<name>.toml` each (see "
        'README, "Analysis templates"); unset: only the built-ins (summary, chapters, '
        "mentions).",
    )

    # ---- queue and consumer -------------------------------------------------------------
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

    # ---- YouTube transcripts (issue: real sources) --------------------------------------
    youtube_languages: CommaList = Field(
        default_factory=lambda: ["en"],
        description="Transcript languages in order of preference, comma-separated.",
    )
    youtube_translate_to: str | None = Field(
        None, description="Translate transcripts to this language code (YouTube's MT)."
    )
    youtube_proxy: Literal["none", "webshare", "generic"] = Field(
        "none", description="Proxy for YouTube requests; cloud IPs are usually blocked."
    )
    webshare_proxy_username: str | None = Field(None, description="Webshare proxy username.")
    webshare_proxy_password: SecretStr | None = Field(None, description="Webshare password.")
    webshare_proxy_locations: CommaList = Field(
        default_factory=list, description="Webshare country codes to use, e.g. `us,de`."
    )
    http_proxy: SecretStr | None = Field(
        None, description="Generic proxy URL for http (may carry credentials)."
    )
    https_proxy: SecretStr | None = Field(
        None, description="Generic proxy URL for https (may carry credentials)."
    )
    youtube_base_url: str = Field(
        "https://www.youtube.com", description="YouTube's origin; point at a stub for tests."
    )
    youtube_timeout_s: float = Field(30.0, gt=0, description="Timeout per YouTube request.")
    youtube_prefer_manual: bool = Field(
        True,
        description="A manual transcript in any listed language beats an auto-generated one.",
    )

    # ---- YouTube Data API (backfills) ---------------------------------------------------
    youtube_api_key: SecretStr | None = Field(
        None, description="YouTube Data API v3 key, for channel and playlist backfills."
    )
    youtube_api_url: str = Field(
        "https://www.googleapis.com/youtube/v3", description="Data API base URL."
    )
    youtube_api_timeout_s: float = Field(
        20.0, gt=0, description="Timeout per YouTube Data API request."
    )
    youtube_api_retry_wait_s: float = Field(
        1.0, ge=0, description="First wait before retrying a failed Data API call (doubles)."
    )
    listing_backend: Literal["auto", "directory", "youtube"] = Field(
        "auto",
        description="Where backfills and the cron list channels: `directory` (JSON files in "
        "the Data API's shapes), `youtube` (the Data API); `auto` = `youtube` when "
        "`TUBEQ_YOUTUBE_API_KEY` is set.",
    )
    listings_dir: Path | None = Field(
        None, description="Folder the directory listing reads (default: the bundled samples')."
    )

    # ---- Gemini ------------------------------------------------------------------------
    gemini_api_key: SecretStr | None = Field(None, description="Gemini API key (AI Studio).")
    gemini_model: str = Field(
        "gemini-3.1-flash-lite", description="Gemini model id (part of the analysis version)."
    )
    gemini_base_url: str | None = Field(
        None, description="Override the Gemini API origin (a stub, a proxy)."
    )
    gemini_temperature: float = Field(
        1.0, ge=0, le=2, description="Sampling temperature (Google advises 1.0 for Gemini 3)."
    )
    gemini_timeout_s: float = Field(120.0, gt=0, description="Timeout per Gemini call.")
    prompt_version: str = Field(
        "p1", description="Prompt version; bump to re-analyse everything (idempotency key)."
    )
    gemini_rpm: int = Field(
        60, ge=1, description="Requests per minute shared by all consumers on this budget."
    )
    gemini_tpm: int = Field(
        1_000_000, ge=1, description="Input tokens per minute shared by all consumers."
    )
    gemini_chunk_tokens: int = Field(
        200_000,
        ge=1_000,
        description="Above this many transcript tokens, analyse in chunks (≤ half of TPM).",
    )
    gemini_price_input_per_m: float = Field(
        0.25, ge=0, description="USD per million input tokens (3.1 Flash-Lite list price)."
    )
    gemini_price_output_per_m: float = Field(
        1.50, ge=0, description="USD per million output + thinking tokens (3.1 Flash-Lite)."
    )
    gemini_video_fallback: bool = Field(
        False, description="With no transcript, let Gemini watch the (public) video URL."
    )
    gemini_max_output_tokens: int = Field(
        8192, ge=256, description="Cap on output tokens per Gemini call (bounds the cost)."
    )
    gemini_budget_path: Path | None = Field(
        None, description="Shared rate-budget file (default `<data_dir>/budget.sqlite3`)."
    )
    gemini_budget_wait_s: float = Field(
        120.0,
        ge=0,
        description=(
            "How long a call may wait for rate budget before the video is retried later; "
            "keep it plus TUBEQ_GEMINI_TIMEOUT_S well under TUBEQ_VISIBILITY_TIMEOUT_S."
        ),
    )
    # ---- Gemini batches (issue 12: `tubeq backfill --batch`) -------------------------------
    gemini_batch_max_requests: int = Field(
        500, ge=1, le=50_000, description="A batch is submitted when it holds this many videos…"
    )
    gemini_batch_max_age_s: int = Field(
        900, ge=0, le=43_200, description="…or when its first video has waited this long."
    )
    gemini_batch_inline_max_bytes: int = Field(
        10_000_000,
        ge=0,
        le=20_000_000,
        description="Requests up to this size go inline; above it, as a JSONL file (Files API).",
    )
    gemini_batch_poll_s: int = Field(
        60, ge=1, le=43_200, description="First wait before asking Gemini how a batch is doing."
    )
    gemini_batch_poll_max_s: int = Field(
        1800, ge=1, le=43_200, description="Longest wait between two polls (backoff doubles)."
    )
    gemini_batch_failed_online: bool = Field(
        True,
        description="A video whose batch request failed is retried online (else: failed).",
    )
    gemini_batch_cancelled: Literal["fail", "requeue"] = Field(
        "fail",
        description=(
            "The videos of a batch cancelled with `tubeq batch cancel`: `fail` records them "
            "failed (batch_cancelled); `requeue` collects them into the next batch."
        ),
    )
    gemini_batch_max_tries: int = Field(
        2,
        ge=1,
        le=10,
        description="Batches a video may ride in (expired, failed) before it goes online.",
    )
    # ---- semantic search (issue 13): embeddings of transcript passages and analyses ------
    embedding_backend: Literal["none", "gemini"] = Field(
        "none",
        description="Semantic search: `none` (search stays full-text) or `gemini` (every analysed "
        "video's passages are embedded by a `video.embed` job; `tubeq search --mode hybrid`).",
    )
    embedding_model: str = Field(
        "gemini-embedding-001",
        min_length=1,
        description="Embedding model id; stored with every vector (a new model re-embeds).",
    )
    embedding_dimensions: int = Field(
        768,
        ge=1,
        le=4000,
        description="Output dimensionality asked of the model (768, 1536 or 3072 for "
        "gemini-embedding-001); stored with every vector.",
    )
    embedding_price_per_m: float = Field(
        0.15,
        ge=0,
        description="USD per million input tokens embedded (gemini-embedding-001 list price).",
    )
    embedding_batch_size: int = Field(
        100, ge=1, le=100, description="Texts per embedding call (the API takes at most 100)."
    )
    vectors_path: Path | None = Field(
        None,
        description="SQLite (sqlite-vec) vector file of the embedded store "
        "(default `<data_dir>/vectors.sqlite3`).",
    )
    rate_budget_backend: Literal["local", "results"] = Field(
        "local",
        description="Where the Gemini rate budget lives: `local` (a SQLite file shared by "
        "this machine's consumers) or `results` (the Postgres/Supabase result store, shared "
        "by the whole fleet).",
    )
    rate_budget_window_s: float = Field(
        60.0, gt=0, le=86_400, description="The window RPM/TPM are counted over (tests shorten it)."
    )
    rate_budget_margin_s: float = Field(
        0.25,
        ge=0,
        le=60,
        description="Spread a window's requests over this much longer, so a request sent "
        "a little early never lands in the previous window.",
    )
    rate_budget_burst_s: float = Field(
        0.5,
        ge=0,
        le=3600,
        description="Burst tolerance: calls may run this far ahead of even pacing after idle "
        "time (the steady rate is lowered to match).",
    )

    # ---- Postgres / Supabase ------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None, description="Postgres DSN (Supabase pooler or any Postgres) for `postgres`."
    )
    supabase_url: str | None = Field(None, description="Supabase project URL, for `supabase`.")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Where readers reach tubeq's API (the Worker's URL in production): the "
        "analyst views' artifact links point there; `tubeq db migrate` records it.",
    )
    supabase_service_role_key: SecretStr | None = Field(
        None, description="Supabase service-role key (server side only, never in a browser)."
    )
    database_pool_size: int = Field(
        4, ge=1, le=64, description="Postgres connections per process (match `concurrency`)."
    )
    database_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Connect and statement timeout for Postgres calls."
    )
    supabase_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Timeout per Supabase (PostgREST) request."
    )

    # ---- R2 -----------------------------------------------------------------------------
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

    # ---- Cloudflare Queues --------------------------------------------------------------
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

    # ---- the Worker and its backend -----------------------------------------------------
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

    # ---- operator alerts (issue 10) -----------------------------------------------------
    alert_webhook_url: SecretStr | None = Field(
        None, description="Slack-compatible incoming webhook for alerts (its path is a secret)."
    )
    alert_smtp_host: str | None = Field(None, description="SMTP server for e-mail alerts.")
    alert_smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    alert_smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="`starttls` (port 587), `tls` (465) or `none` (a local relay)."
    )
    alert_smtp_username: str | None = Field(None, description="SMTP login, if it needs one.")
    alert_smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    alert_email_from: str = Field("tubeq@localhost", description="Sender of alert e-mails.")
    alert_email_to: CommaList = Field(
        default_factory=list, description="Recipients of alert e-mails, comma-separated."
    )
    alert_dlq_threshold: int = Field(
        10, ge=0, description="Alert when this many messages are dead letters (0: never)."
    )
    alert_daily_spend_usd: float | None = Field(
        None, gt=0, description="Alert when a UTC day's model spend passes this many USD."
    )
    alert_quota_pause_s: float = Field(
        300.0,
        gt=0,
        description="Alert when Gemini refuses a call and asks for a pause at least this long "
        "(a daily quota used up, or a quota far below TUBEQ_GEMINI_RPM/TPM).",
    )
    alert_timeout_s: float = Field(10.0, gt=0, le=120, description="Timeout per alert sent.")
    alert_state_path: Path | None = Field(
        None,
        description="Which alerts were sent, so each goes once "
        "(default `<data_dir>/alerts.sqlite3`).",
    )

    # ---- HTTP API -----------------------------------------------------------------------
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys accepted by the HTTP API, comma-separated."
    )
    analyst_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Read-only keys (comma-separated): the dashboard and the API's reads, "
        "never enqueue or redrive (those need a TUBEQ_API_KEYS key).",
    )
    api_host: str = Field("127.0.0.1", description="Address `tubeq serve` binds.")
    api_port: int = Field(8787, ge=1, le=65535, description="Port `tubeq serve` binds.")
    api_max_body_bytes: int = Field(
        1_000_000, ge=1_000, description="Largest request body the API accepts."
    )
    api_cors_origins: CommaList = Field(
        default_factory=list, description="Origins allowed by CORS (none by default)."
    )
    watched_channels: CommaList = Field(
        default_factory=list, description="Channels the schedule polls for new uploads."
    )

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in (
                "youtube_languages",
                "webshare_proxy_locations",
                "api_cors_origins",
                "watched_channels",
                "api_keys",
                "analyst_keys",
                "alert_email_to",
            ):
                if key in data:
                    data[key] = _split_commas(data[key])
        return data

    # ---- derived paths ------------------------------------------------------------------
    @property
    def listings_folder(self) -> Path:
        return self.listings_dir or BUNDLED_LISTINGS

    @property
    def listing(self) -> Literal["directory", "youtube"]:
        """The listing backend in use: ``auto`` resolved (a Data API key means real listings)."""
        if self.listing_backend != "auto":
            return self.listing_backend
        key = self.youtube_api_key
        return "youtube" if key is not None and key.get_secret_value().strip() else "directory"

    @property
    def queue_file(self) -> Path:
        return self.queue_path or self.data_dir / "queue.sqlite3"

    @property
    def results_file(self) -> Path:
        return self.results_path or self.data_dir / "results.sqlite3"

    @property
    def vectors_file(self) -> Path:
        return self.vectors_path or self.data_dir / "vectors.sqlite3"

    @property
    def artifacts_folder(self) -> Path:
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def journal_folder(self) -> Path:
        return self.journal_dir or self.data_dir / "journal"

    @property
    def alert_state_file(self) -> Path:
        return self.alert_state_path or self.data_dir / "alerts.sqlite3"

    @property
    def dead_letter_queue_name(self) -> str:
        return self.cf_dlq_name or f"{self.cf_queue_name}-dlq"

    # ---- each adapter's section (``shared.adapter_settings``) ---------------------------
    @property
    def directory_transcripts(self) -> DirectoryTranscriptSettings:
        return DirectoryTranscriptSettings(directory=self.transcripts_dir)

    @property
    def youtube_transcripts(self) -> YouTubeTranscriptSettings:
        return YouTubeTranscriptSettings(
            languages=tuple(self.youtube_languages),
            translate_to=self.youtube_translate_to,
            prefer_manual=self.youtube_prefer_manual,
            proxy=self.youtube_proxy,
            webshare_username=self.webshare_proxy_username,
            webshare_password=self.webshare_proxy_password,
            webshare_locations=tuple(self.webshare_proxy_locations),
            http_proxy=self.http_proxy,
            https_proxy=self.https_proxy,
            base_url=self.youtube_base_url,
            timeout_s=self.youtube_timeout_s,
        )

    @property
    def extractive(self) -> ExtractiveSettings:
        return ExtractiveSettings()

    @property
    def gemini(self) -> GeminiSettings:
        return GeminiSettings(
            api_key=self.gemini_api_key,
            model=self.gemini_model,
            base_url=self.gemini_base_url,
            temperature=self.gemini_temperature,
            timeout_s=self.gemini_timeout_s,
            prompt_version=self.prompt_version,
            chunk_tokens=self.gemini_chunk_tokens,
            max_output_tokens=self.gemini_max_output_tokens,
            price_input_per_m=self.gemini_price_input_per_m,
            price_output_per_m=self.gemini_price_output_per_m,
            budget_wait_s=self.gemini_budget_wait_s,
            tpm=self.gemini_tpm,
            lease_s=self.visibility_timeout_s,
        )

    @property
    def rate_budget(self) -> RateBudgetSettings:
        return RateBudgetSettings(
            backend=self.rate_budget_backend,
            path=self.gemini_budget_path or self.data_dir / "budget.sqlite3",
            requests_per_minute=self.gemini_rpm,
            tokens_per_minute=self.gemini_tpm,
            window_s=self.rate_budget_window_s,
            margin_s=self.rate_budget_margin_s,
            burst_s=self.rate_budget_burst_s,
            results_backend=self.results_backend,
            database_url=self.database_url,
            database_timeout_s=self.database_timeout_s,
            supabase_url=self.supabase_url,
            supabase_service_role_key=self.supabase_service_role_key,
            supabase_timeout_s=self.supabase_timeout_s,
        )

    @property
    def webhook_alerts(self) -> WebhookAlertSettings | None:
        """The webhook alert section, when a webhook is set."""
        if self.alert_webhook_url is None or not self.alert_webhook_url.get_secret_value():
            return None
        return WebhookAlertSettings(url=self.alert_webhook_url, timeout_s=self.alert_timeout_s)

    @property
    def smtp_alerts(self) -> SmtpAlertSettings | None:
        """The e-mail alert section, when an SMTP server is set."""
        if not self.alert_smtp_host:
            return None
        return SmtpAlertSettings(
            host=self.alert_smtp_host,
            port=self.alert_smtp_port,
            security=self.alert_smtp_security,
            username=self.alert_smtp_username,
            password=self.alert_smtp_password,
            sender=self.alert_email_from,
            recipients=tuple(self.alert_email_to),
            timeout_s=self.alert_timeout_s,
        )

    @property
    def local_artifacts(self) -> LocalArtifactSettings:
        return LocalArtifactSettings(folder=self.artifacts_folder)

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

    # ---- checks -------------------------------------------------------------------------
    def missing(self) -> list[str]:
        """The environment variables the selected backends need but do not have."""
        need = [
            f"TUBEQ_{name.upper()}"
            for (setting, value), names in _REQUIRED.items()
            if getattr(self, setting) == value
            for name in names
            if getattr(self, name) in (None, "", [])
        ]
        if self.artifacts_backend == "r2" and not (self.r2_endpoint_url or self.r2_account_id):
            need.append("TUBEQ_R2_ACCOUNT_ID")
        if self.youtube_proxy == "generic" and not (self.http_proxy or self.https_proxy):
            need.append("TUBEQ_HTTP_PROXY or TUBEQ_HTTPS_PROXY")
        if self.alert_smtp_host and not self.alert_email_to:
            need.append("TUBEQ_ALERT_EMAIL_TO")
        return list(dict.fromkeys(need))  # two choices may need the same key

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment (and .env), validate, and check required secrets."""
        try:
            settings = cls(**overrides)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None
        missing = settings.missing()
        if missing:
            raise ConfigError(
                "missing settings for the selected backends: "
                + ", ".join(missing)
                + " (set them in the environment or in .env; see the README's configuration)"
            )
        return settings


# (setting, value) → the settings that choice needs.
_REQUIRED: dict[tuple[str, str], tuple[str, ...]] = {
    ("queue_backend", "cloudflare"): ("cf_account_id", "cf_api_token", "cf_queue_id"),
    ("analyzer_backend", "gemini"): ("gemini_api_key",),
    ("embedding_backend", "gemini"): ("gemini_api_key",),
    ("results_backend", "postgres"): ("database_url",),
    ("results_backend", "supabase"): ("supabase_url", "supabase_service_role_key"),
    ("artifacts_backend", "r2"): ("r2_access_key_id", "r2_secret_access_key"),
    ("youtube_proxy", "webshare"): ("webshare_proxy_username", "webshare_proxy_password"),
}


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = "TUBEQ_" + "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{name}: {err['msg']}")
    return "invalid settings: " + "; ".join(lines)
