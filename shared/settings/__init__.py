"""All of tubeq's configuration: ``TUBEQ_*`` environment variables or a ``.env`` file.

Parsed once, at the entry point, into one frozen ``Settings`` that is passed down; no module
reads the environment on its own. ``Settings.load()`` checks that every selected production
backend has what it needs and raises ``ConfigError`` naming the variable, so a fleet fails
at start, never halfway through a batch.

``Settings`` is one class made of field groups, one per idea, each a mixin in this package
with the properties that build its adapters' sections (``shared.adapter_settings``) next
to the fields they read: ``storage`` (data folder, backend choices, embedded files),
``queue``, ``youtube``, ``analysis`` (Gemini, batches, rate budget), ``embeddings``,
``database``, ``cloudflare`` (R2, Queues, Worker), ``alerts`` and ``api``. A field's place
in the README's table (and in ``Settings.model_fields``) follows the order of the bases
below, last first: pydantic collects fields along the reversed MRO. A group whose section
reads another group's fields inherits that group (``GeminiFields(QueueConsumerFields)`` for
the lease), which keeps the order only if the inherited group's fields come earlier; a
section that would read a later group is built here instead (``rate_budget``).

The README's configuration table is generated from the field descriptions
(``python scripts/settings_table.py``); keep descriptions short and useful.
"""

from __future__ import annotations

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.adapter_settings import RateBudgetSettings
from shared.errors import ConfigError
from shared.settings.alerts import AlertFields
from shared.settings.analysis import GeminiBatchFields, GeminiFields, RateBudgetFields
from shared.settings.api import ApiFields
from shared.settings.cloudflare import CloudflareFields, R2Fields, WorkerFields
from shared.settings.comma_lists import CommaList, split_commas
from shared.settings.database import DatabaseFields
from shared.settings.embeddings import EmbeddingFields
from shared.settings.queue import QueueConsumerFields
from shared.settings.storage import (
    BUNDLED_LISTINGS,
    BUNDLED_SAMPLES,
    BackendFields,
    EmbeddedFileFields,
    GeneralFields,
)
from shared.settings.youtube import YouTubeListingFields, YouTubeTranscriptFields

__all__ = ["BUNDLED_LISTINGS", "BUNDLED_SAMPLES", "CommaList", "Settings"]


class Settings(
    BaseSettings,
    # the groups in reverse order of their fields (see the module's docstring)
    ApiFields,
    AlertFields,
    WorkerFields,
    CloudflareFields,
    R2Fields,
    DatabaseFields,
    RateBudgetFields,
    EmbeddingFields,
    GeminiBatchFields,
    GeminiFields,
    YouTubeListingFields,
    YouTubeTranscriptFields,
    QueueConsumerFields,
    EmbeddedFileFields,
    BackendFields,
    GeneralFields,
):
    model_config = SettingsConfigDict(
        env_prefix="TUBEQ_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
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
                    data[key] = split_commas(data[key])
        return data

    # ---- sections that read more than one group -----------------------------------------
    @property
    def rate_budget(self) -> RateBudgetSettings:
        """The budget's rates are Gemini's; the fleet budget lives in the result database."""
        return RateBudgetSettings(
            backend=self.rate_budget_backend,
            path=self.gemini_budget_path or self.data_dir / "budget.sqlite3",
            requests_per_minute=self.gemini_rpm,
            tokens_per_minute=self.gemini_tpm,
            window_s=self.rate_budget_window_s,
            margin_s=self.rate_budget_margin_s,
            burst_s=self.rate_budget_burst_s,
            results_backend=self.results_backend,
            postgres=self.postgres,
            supabase=self.supabase,
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
