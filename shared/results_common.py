"""What every result adapter shares: the checks made before a write leaves the process,
the payloads the SQL functions take, and how their JSON answers become models.

Neutral ground: the SQLite, Postgres and Supabase adapters all import from here, and no
adapter imports another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.errors import InvalidInput, PermanentError
from shared.gemini.batch_models import BatchItem
from shared.models import (
    Analysis,
    FailureRecord,
    VideoJob,
    VideoResult,
    VideoState,
    VideoStatus,
)

#: videos per mark_queued call and rows per channel_results page: bounded statements
CHUNK = 200
#: ids per done_ids call on Postgres/Supabase (a few kB of request)
DONE_IDS_CHUNK = 1000
#: ids per video_states call: a few kB of request, one index probe per id
STATES_CHUNK = 500

#: the longest claim tubeq_claim_analysis accepts (a week); a claim is meant to cover one
#: analysis, and an owner that died holding it delays the video this long at most
MAX_CLAIM_TTL_S = 7 * 86400.0

FAILURE_STATES = (VideoState.FAILED, VideoState.DEAD, VideoState.RETRYING)


def claim_payload(video_id: str, analysis_version: str, owner: str, ttl_s: float) -> dict[str, Any]:
    """The claim every adapter takes; refuses what tubeq_claim_analysis would refuse."""
    # 0 is allowed: the owner lets its claim expire now (a release)
    if not (0 <= ttl_s <= MAX_CLAIM_TTL_S):  # also false for NaN
        raise InvalidInput(
            f"claim ttl_s must be from 0 to {MAX_CLAIM_TTL_S:.0f} seconds, got {ttl_s!r}"
        )
    for name, value in (
        ("video_id", video_id),
        ("analysis_version", analysis_version),
        ("owner", owner),
    ):
        if not value:
            raise InvalidInput(f"claim {name} is empty")
    return {
        "video_id": video_id,
        "analysis_version": analysis_version,
        "owner": owner,
        "ttl_s": float(ttl_s),
    }


def check_result(result: VideoResult) -> None:
    """A result is about one video (tubeq_record_success says the same)."""
    vid = result.video.video_id
    if vid != result.analysis.video_id or vid != result.transcript.video_id:
        raise InvalidInput(
            f"a result mixes videos: video {vid}, transcript {result.transcript.video_id}, "
            f"analysis {result.analysis.video_id}"
        )


def check_failure(failure: FailureRecord) -> None:
    """A failure's state must be a failure state (tubeq_record_failure says the same)."""
    if failure.state not in FAILURE_STATES:
        raise InvalidInput(
            f"a failure of {failure.video_id} has state {failure.state.value!r}; "
            "use one of: failed, retrying, dead"
        )


# ---- batches (sql/010_batches.sql) ------------------------------------------------------

# What a batch add refuses, one text per fault, the same from every result store: the
# Postgres and Supabase stores check before the call (``batch_add_payload``); the SQLite
# store's tables refuse with these very texts (the batch triggers of
# ``sql/queries/sqlite_schema.sql``, which ``shared.classify.sqlite`` turns into
# ``InvalidInput``). tubeq_batch_add refuses the same on the server, for any other caller.
NEW_BATCH_ID_EMPTY = (
    "batch add: the new batch id is empty; pass the id a batch opened by this add gets "
    "(the collect job uses uuid4().hex[:16])"
)
ITEM_VIDEO_ID_EMPTY = "batch item: the video id is empty; an item is the request of one video"
ITEM_VERSION_EMPTY = (
    "batch item: the analysis version is empty; batches are kept per analysis version"
)
ITEM_PROMPT_EMPTY = "batch item: the prompt is empty; it is the request text sent to Gemini"
ITEM_JOB_NOT_JSON = (
    "batch item: the job is not JSON; it must be the collect job as JSON text "
    "(model_dump_json()), which is sent again when the batch fails"
)


def _no_constant(name: str) -> Any:
    # NaN and Infinity: Python reads them, JSON (and so jsonb and SQLite) does not
    raise ValueError(f"{name} is not a JSON value")


def check_batch_add(item: BatchItem, new_batch_id: str) -> None:
    """Refuse a batch add no store would keep, as ``InvalidInput``: the caller built it
    wrong, and a retry cannot fix it."""
    for value, refusal in (
        (new_batch_id, NEW_BATCH_ID_EMPTY),
        (item.video_id, ITEM_VIDEO_ID_EMPTY),
        (item.analysis_version, ITEM_VERSION_EMPTY),
        (item.prompt, ITEM_PROMPT_EMPTY),
    ):
        if not value:
            raise InvalidInput(refusal)
    try:
        json.loads(item.job, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError included; the job's text is not repeated
        raise InvalidInput(f"{ITEM_JOB_NOT_JSON} ({exc})") from None


def batch_add_payload(item: BatchItem, new_batch_id: str, max_items: int) -> dict[str, Any]:
    """tubeq_batch_add's payload, once ``check_batch_add`` has let it through."""
    check_batch_add(item, new_batch_id)
    return {
        "item": {
            "video_id": item.video_id,
            "analysis_version": item.analysis_version,
            "prompt": item.prompt,
            "job": item.job,
            "language": item.language,
        },
        "new_batch_id": new_batch_id,
        "max_items": max_items,
    }


def jobs_payload(jobs: Sequence[VideoJob]) -> dict[str, Any]:
    return {"jobs": [job.model_dump(mode="json") for job in jobs]}


def parse_analysis(data: Any) -> Analysis | None:
    return Analysis.model_validate(data) if data else None


def parse_status(data: Any) -> VideoStatus | None:
    return VideoStatus.model_validate(data) if data else None


def parse_statuses(data: Any) -> list[VideoStatus]:
    return [VideoStatus.model_validate(item) for item in (data or [])]


def parse_states(data: Any) -> dict[str, VideoState]:
    """tubeq_video_states' ``{video_id: state}`` object as the port's dict."""
    if data is None:
        return {}
    try:
        if not isinstance(data, dict):
            raise TypeError(f"a {type(data).__name__}, not an object")
        return {str(vid): VideoState(state) for vid, state in data.items()}
    except (TypeError, ValueError) as exc:
        # the database's function does not match this code: an old or a foreign schema
        raise PermanentError(
            f"tubeq_video_states answered in an unexpected shape ({exc}); "
            "apply the migrations in sql/ with `tubeq db migrate`"
        ) from None


def page_cursor(page: list[VideoStatus]) -> tuple[str | None, str]:
    """(published_at, video_id) of a page's last row: where the next page starts."""
    last = page[-1]
    published = last.meta.published_at if last.meta else None
    return (published.isoformat() if published else None), last.video_id
