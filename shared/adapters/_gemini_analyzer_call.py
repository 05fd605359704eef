"""One Gemini call of the analyzer (``shared.adapters.gemini_analyzer``): the request it
sends, the share of the rate budget it takes first, and the tubeq error a failure becomes.

The request is the conversation so far under the system instruction, with structured JSON
output (the analysis schema) and the step's output cap. Its input is estimated before it is
sent, so every call first takes its share of the shared ``RateBudget``. A failure is
classified once (``shared.classify``); a 429 gives that share back (a refused call did not
count against the quota) and pauses the budget for the delay Gemini asked for, so the other
workers stop calling into it too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from google import genai
from google.genai import types

from shared.adapters._gemini_analyzer_options import GeminiOptions
from shared.adapters._gemini_client import leaving
from shared.classify import classify
from shared.errors import RateLimited
from shared.gemini import prompt
from shared.gemini.chunking import estimate_tokens
from shared.logging import get_logger
from shared.ports import RateBudget

log = get_logger(__name__)

#: How long a 429 without a retry delay pauses the shared budget.
DEFAULT_429_PAUSE_S = 10.0


@dataclass(frozen=True)
class Step:
    """One step of an analysis, named for the logs (``kind``) and the spend ledger."""

    video_id: str
    kind: str  # "whole", "chunk 2/5", "merge", "video"
    name: str  # the call_id's step: "analysis", "chunk-002-of-005-<digest>", "merge", "video"
    purpose: str  # BilledCall.purpose
    extra_tokens: int = 0
    media_resolution: types.MediaResolution | None = None

    def repair(self) -> Step:
        return replace(
            self, kind=f"{self.kind} (repair)", name=f"{self.name}.repair", purpose="repair"
        )


def call_gemini(
    client: genai.Client,
    budget: RateBudget,
    options: GeminiOptions,
    schema: dict[str, Any],
    history: Sequence[types.Content],
    step: Step,
    max_output_tokens: int,
) -> types.GenerateContentResponse:
    """Send ``history`` once, after taking its estimated share of ``budget``."""
    tokens = step.extra_tokens + estimate_tokens(
        prompt.SYSTEM_INSTRUCTION
        + json.dumps(schema)
        + "".join(p.text or "" for c in history for p in (c.parts or []))
    )
    grant = budget.acquire(tokens, options.budget_wait_s)
    config = types.GenerateContentConfig(
        system_instruction=prompt.SYSTEM_INSTRUCTION,
        temperature=options.temperature,
        max_output_tokens=max_output_tokens,
        response_mime_type="application/json",
        response_json_schema=schema,
        media_resolution=step.media_resolution,
    )
    contents: list[Any] = list(history)
    try:
        with leaving(grant):
            response = client.models.generate_content(
                model=options.model, contents=contents, config=config
            )
    except Exception as exc:
        error = classify(exc)
        log.warning(
            "gemini.call_failed",
            video_id=step.video_id,
            kind=step.kind,
            error_code=error.code,
            error=error.message,
        )
        if isinstance(error, RateLimited):
            # Gemini's quota is the truth; the budget was only our estimate of it. A
            # refused call did not count against the quota: give its share back, and
            # tell every worker on this budget to hold off for as long as Gemini asked.
            grant.refund()
            budget.pause(error.retry_after or DEFAULT_429_PAUSE_S)
        raise error from exc
    meta = response.usage_metadata
    # key names avoid "token": the log redactor masks any key that looks like a secret
    log.info(
        "gemini.call",
        video_id=step.video_id,
        kind=step.kind,
        input_estimate=tokens,
        input_used=meta.prompt_token_count if meta else None,
        output_used=meta.candidates_token_count if meta else None,
    )
    return response
