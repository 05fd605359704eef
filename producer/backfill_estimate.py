"""What a backfill will cost (``producer.backfill``): tokens, model calls, dollars and wall
time for the videos it would send, online and through the Gemini Batch API, and what an
analysed video has really cost so far, to set beside the estimate.

Estimates use ``shared.gemini.estimate``: the transcript as the analyzer renders it
(timestamps included), counted with the analyzer's own token estimator, plus each call's
system instruction and schema, and the chunked path for long videos. A video of unknown
length counts as ``DEFAULT_DURATION_S``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from shared.gemini.estimate import analysis_estimate
from shared.models import Progress, VideoMeta
from shared.settings import Settings

DEFAULT_DURATION_S = 600
#: the Batch API's price against the standard one (the adapter bills replies the same way)
BATCH_PRICE_FACTOR = 0.5


class Estimate(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0


def estimate(metas: Sequence[VideoMeta], settings: Settings) -> Estimate:
    """Tokens, cost and wall time to analyse these videos under the shared Gemini budget."""
    input_tokens = output_tokens = calls = 0
    for meta in metas:
        seconds = meta.duration_s if meta.duration_s is not None else DEFAULT_DURATION_S
        video = analysis_estimate(seconds, settings.gemini_chunk_tokens)
        calls += video.calls
        input_tokens += video.input_tokens
        output_tokens += video.output_tokens
    cost = (
        input_tokens * settings.gemini_price_input_per_m
        + output_tokens * settings.gemini_price_output_per_m
    ) / 1_000_000
    # the slower of the two budgets decides
    minutes = max(calls / settings.gemini_rpm, input_tokens / settings.gemini_tpm)
    return Estimate(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        calls=calls,
        cost_usd=round(cost, 6),
        duration_s=round(minutes * 60, 1),
    )


def estimate_batch(metas: Sequence[VideoMeta], settings: Settings) -> tuple[float, int]:
    """The cost of these videos in a batch backfill, and how many of them go online: a
    video of one call rides in a batch at ``BATCH_PRICE_FACTOR``; a chunked one (map-reduce:
    chunk calls, then a merge that needs their replies) is analysed online at full price."""
    cost = 0.0
    online = 0
    for meta in metas:
        seconds = meta.duration_s if meta.duration_s is not None else DEFAULT_DURATION_S
        video = analysis_estimate(seconds, settings.gemini_chunk_tokens)
        usd = (
            video.input_tokens * settings.gemini_price_input_per_m
            + video.output_tokens * settings.gemini_price_output_per_m
        ) / 1_000_000
        if video.calls == 1:
            cost += usd * BATCH_PRICE_FACTOR
        else:
            cost += usd
            online += 1
    return round(cost, 6), online


def actual_cost_per_video(progress: Progress) -> float | None:
    """What one analysed video has really cost so far, to set beside the estimate: the spend
    of every billed call (the spend ledger: invalid, truncated, refused and repair calls,
    and calls for videos that ended failed, all included) over the analyses kept. None
    before any analysis was kept."""
    if progress.analyses == 0:
        return None
    return round(progress.usage.cost_usd / progress.analyses, 6)
