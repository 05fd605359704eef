"""The result ports on the SQL functions of ``sql/005``–``008``: what the Postgres and the
Supabase adapters share, so each rule's Python side exists once.

Every method is one named block of ``sql/queries/postgres.sql`` (one function call, one
round trip, one transaction inside the database). A subclass only says how a block runs:
``PostgresResultStore`` executes it through psycopg, ``SupabaseResultStore`` sends it as
the PostgREST call it names. Payloads go in as the pydantic models' JSON and come back
as models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from shared.adapters._function_batches import FunctionBatchStore
from shared.adapters._function_consumers import FunctionConsumerRegistry
from shared.adapters._function_dashboard import FunctionDashboardReader
from shared.adapters._function_template_results import FunctionTemplateReader
from shared.models import (
    Analysis,
    BilledCall,
    FailureRecord,
    Progress,
    VideoJob,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.results_common import (
    CHUNK,
    DONE_IDS_CHUNK,
    STATES_CHUNK,
    check_failure,
    check_result,
    claim_payload,
    jobs_payload,
    page_cursor,
    parse_analysis,
    parse_states,
    parse_status,
    parse_statuses,
)
from shared.sql_queries import Queries, load

#: the blocks both adapters run; load once, at import, so a missing file fails early
POSTGRES_QUERIES: Queries = load("postgres.sql")


class FunctionResultStore(
    ABC,
    FunctionBatchStore,
    FunctionConsumerRegistry,
    FunctionDashboardReader,
    FunctionTemplateReader,
):
    """AnalysisClaims, VideoStates, ResultWriter, AnalystReader and SpendLedger over named
    SQL calls; and the BatchStore (``_function_batches``, sql/010), as on SQLite the result
    store keeps the batches; the ConsumerRegistry (``_function_consumers``, sql/016); and
    the TemplateResultReader (``_function_template_results``, sql/014) for the video page;
    and the dashboard's ChannelDirectory and ActivityReader (``_function_dashboard``,
    sql/019)."""

    name: str

    @abstractmethod
    def run(self, query: str, **params: Any) -> Any:
        """Run the block ``query`` of postgres.sql; the function's value as JSON data."""

    @abstractmethod
    def close(self) -> None: ...

    # ---- AnalysisClaims ------------------------------------------------------------------

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        data = self.run("find_analysis", video_id=video_id, analysis_version=analysis_version)
        return parse_analysis(data)

    def save_analysis(self, analysis: Analysis) -> None:
        self.run("save_analysis", analysis=analysis.model_dump(mode="json"))

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Claim the model call for this video and version: 0.0 when ours, else the
        seconds until the current holder's claim expires (see ``tubeq_claim_analysis``)."""
        claim = claim_payload(video_id, analysis_version, owner, ttl_s)
        return float(self.run("claim_analysis", claim=claim))

    # ---- VideoStates -----------------------------------------------------------------------

    def is_done(self, video_id: str, analysis_version: str) -> bool:
        return video_id in self.done_ids([video_id], analysis_version)

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        ids = list(dict.fromkeys(video_ids))
        done: set[str] = set()
        for i in range(0, len(ids), DONE_IDS_CHUNK):
            chunk = ids[i : i + DONE_IDS_CHUNK]
            done.update(
                self.run("done_ids", video_ids=chunk, analysis_version=analysis_version) or []
            )
        return done

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        ids = list(dict.fromkeys(video_ids))
        found: dict[str, VideoState] = {}
        for i in range(0, len(ids), STATES_CHUNK):
            chunk = ids[i : i + STATES_CHUNK]
            found.update(parse_states(self.run("video_states", video_ids=chunk)))
        return found

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        for i in range(0, len(jobs), CHUNK):
            self.run("mark_queued", jobs=jobs_payload(jobs[i : i + CHUNK]))

    # ---- ResultWriter ----------------------------------------------------------------------

    def record_success(self, result: VideoResult) -> None:
        check_result(result)
        self.run("record_success", result=result.model_dump(mode="json"))

    def record_failure(self, failure: FailureRecord) -> None:
        check_failure(failure)
        self.run("record_failure", failure=failure.model_dump(mode="json"))

    # ---- SpendLedger -----------------------------------------------------------------------

    def record_call(self, call: BilledCall) -> None:
        """One billed model call (``tubeq_record_call``: a call id recorded again is a no-op)."""
        self.run("record_call", call=call.model_dump(mode="json"))

    # ---- AnalystReader ---------------------------------------------------------------------

    def get_video(self, video_id: str) -> VideoStatus | None:
        return parse_status(self.run("get_video", video_id=video_id))

    def progress(self) -> Progress:
        return Progress.model_validate(self.run("progress"))

    def failures(self, limit: int = 50) -> list[VideoStatus]:
        return parse_statuses(self.run("failures", limit=max(0, limit)))

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        after: tuple[str | None, str | None] = (None, None)
        while True:
            page = parse_statuses(
                self.run(
                    "channel_results",
                    channel_id=channel_id,
                    after_published=after[0],
                    after_video_id=after[1],
                    limit=CHUNK,
                )
            )
            yield from page
            if len(page) < CHUNK:
                return
            after = page_cursor(page)
