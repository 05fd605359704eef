"""The analyzers: Gemini (model, prices, limits, timeouts), its Batch API and the rate budget
its calls share; the offline extractive analyzer has nothing to set."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from shared.adapter_settings import ExtractiveSettings, GeminiSettings
from shared.cloudflare_limits import MAX_DELAY_S
from shared.settings.queue import QueueConsumerFields


class GeminiFields(QueueConsumerFields):
    """``TUBEQ_GEMINI_*`` and ``TUBEQ_PROMPT_VERSION``; the queue's lease is read too, to
    refuse settings under which a call could outlive its message's lease."""

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


class GeminiBatchFields(BaseModel):
    """``TUBEQ_GEMINI_BATCH_*`` (issue 12: ``tubeq backfill --batch``)."""

    gemini_batch_max_requests: int = Field(
        500, ge=1, le=50_000, description="A batch is submitted when it holds this many videos…"
    )
    # the waits below are delays on the queue: at most Cloudflare's twelve hours
    gemini_batch_max_age_s: int = Field(
        900, ge=0, le=MAX_DELAY_S, description="…or when its first video has waited this long."
    )
    gemini_batch_inline_max_bytes: int = Field(
        10_000_000,
        ge=0,
        le=20_000_000,
        description="Requests up to this size go inline; above it, as a JSONL file (Files API).",
    )
    gemini_batch_poll_s: int = Field(
        60,
        ge=1,
        le=MAX_DELAY_S,
        description="First wait before asking Gemini how a batch is doing.",
    )
    gemini_batch_poll_max_s: int = Field(
        1800, ge=1, le=MAX_DELAY_S, description="Longest wait between two polls (backoff doubles)."
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


class RateBudgetFields(BaseModel):
    """``TUBEQ_RATE_BUDGET_*``: where the budget lives and how calls are paced (its rates
    are ``TUBEQ_GEMINI_RPM``/``_TPM``; its section, ``Settings.rate_budget``, reads both)."""

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
