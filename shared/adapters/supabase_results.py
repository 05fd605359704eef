"""The result store on Supabase through supabase-py: PostgREST RPC over HTTPS.

Calls the same SQL functions as ``PostgresResultStore`` (``sql/005_functions.sql``) with
``client.rpc(fn, params).execute()``: ``POST /rest/v1/rpc/<fn>`` with the arguments as a
JSON object, authenticated with the service-role key (``apikey`` and ``Authorization:
Bearer`` headers, which supabase-py sets). Each write is one request and, inside the
database, one transaction.

Errors: supabase-py turns any non-2xx reply into an ``APIError`` that keeps only the body,
and Supabase's API gateway answers a bad key (401) or a rate limit (429) with a body that
has no error code. So a response hook on our httpx client notes each reply's status and
Retry-After (per thread: the client is shared by the consumer's threads), and
``shared.classify.storage`` maps by that status: 401/403 permanent (naming the key
setting), 429 rate limited, 5xx transient, other 4xx permanent. httpx timeouts and
connection errors are transient. supabase-py does not retry POSTs, so the queue's retry
policy stays the only one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, Self

import httpx
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from shared.adapters.postgres_results import (
    CHUNK,
    STATES_CHUNK,
    claim_payload,
    jobs_payload,
    page_cursor,
    parse_analysis,
    parse_states,
    parse_statuses,
)
from shared.classify import classify
from shared.classify.storage import SupabaseReplyError
from shared.errors import ConfigError
from shared.models import (
    Analysis,
    FailureRecord,
    Progress,
    VideoJob,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.settings import Settings


class SupabaseResultStore:
    """ResultStore and ResultReader on Supabase; thread-safe (httpx's client is)."""

    name = "supabase"

    def __init__(self, url: str, service_role_key: str, *, timeout_s: float = 30.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"TUBEQ_SUPABASE_URL must be the project URL, like "
                f"https://<project-ref>.supabase.co (got {url!r})"
            )
        if not service_role_key.strip():
            raise ConfigError("TUBEQ_SUPABASE_SERVICE_ROLE_KEY is empty")
        # our own httpx client: it carries the timeout (supabase-py's timeout option is
        # deprecated and truncates to whole seconds), we own its lifetime, and its hook
        # keeps the HTTP status that supabase-py's APIError drops
        self._last_reply = threading.local()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            event_hooks={"response": [self._note_reply]},
        )
        options = ClientOptions(
            auto_refresh_token=False,
            persist_session=False,
            httpx_client=self._http,
        )
        try:
            self._client: Client = create_client(url, service_role_key, options)
        except Exception as exc:  # supabase raises its own exception for a bad URL/key
            self._http.close()
            raise ConfigError(
                f"cannot set up the Supabase client: {type(exc).__name__}: {exc} "
                "(check TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY)"
            ) from None
        # built lazily by supabase-py; build it now so threads never race to create it
        self._rest = self._client.postgrest

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if not settings.supabase_url or settings.supabase_service_role_key is None:
            raise ConfigError(
                "the supabase result store needs TUBEQ_SUPABASE_URL and "
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            settings.supabase_url,
            settings.supabase_service_role_key.get_secret_value(),
            timeout_s=settings.supabase_timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def _note_reply(self, response: httpx.Response) -> None:
        # runs in the thread that sent the request, before supabase-py reads the body
        self._last_reply.reply = (response.status_code, response.headers.get("retry-after"))

    def call(self, function: str, params: dict[str, Any]) -> Any:
        """One RPC; returns PostgREST's JSON (``None`` for a function returning void)."""
        self._last_reply.reply = None
        try:
            response = self._rest.rpc(function, params).execute()
        except APIError as exc:
            reply: tuple[int, str | None] | None = self._last_reply.reply
            if reply is None:
                raise classify(exc) from exc
            raise classify(SupabaseReplyError(exc, *reply)) from exc
        except Exception as exc:
            raise classify(exc) from exc
        data = response.data
        # a void function answers 204 with no body, which supabase-py turns into []
        return None if data == [] else data

    # ---- ResultStore ------------------------------------------------------------------

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        data = self.call(
            "tubeq_find_analysis",
            {"p_video_id": video_id, "p_analysis_version": analysis_version},
        )
        return parse_analysis(data)

    def save_analysis(self, analysis: Analysis) -> None:
        self.call("tubeq_save_analysis", {"payload": analysis.model_dump(mode="json")})

    def is_done(self, video_id: str, analysis_version: str) -> bool:
        return video_id in self.done_ids([video_id], analysis_version)

    def record_success(self, result: VideoResult) -> None:
        self.call("tubeq_record_success", {"payload": result.model_dump(mode="json")})

    def record_failure(self, failure: FailureRecord) -> None:
        self.call("tubeq_record_failure", {"payload": failure.model_dump(mode="json")})

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Claim the model call for this video and version: 0.0 when ours, else the
        seconds until the current holder's claim expires (see ``tubeq_claim_analysis``)."""
        payload = claim_payload(video_id, analysis_version, owner, ttl_s)
        return float(self.call("tubeq_claim_analysis", {"payload": payload}))

    # ---- ResultReader -----------------------------------------------------------------

    def get_video(self, video_id: str) -> VideoStatus | None:
        data = self.call("tubeq_get_video", {"p_video_id": video_id})
        return VideoStatus.model_validate(data) if data else None

    def progress(self) -> Progress:
        return Progress.model_validate(self.call("tubeq_progress", {}))

    def failures(self, limit: int = 50) -> list[VideoStatus]:
        return parse_statuses(self.call("tubeq_failures", {"p_limit": max(0, limit)}))

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        ids = list(dict.fromkeys(video_ids))
        done: set[str] = set()
        for i in range(0, len(ids), CHUNK * 5):
            params = {"p_video_ids": ids[i : i + CHUNK * 5], "p_analysis_version": analysis_version}
            done.update(self.call("tubeq_done_ids", params) or [])
        return done

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        ids = list(dict.fromkeys(video_ids))
        found: dict[str, VideoState] = {}
        for i in range(0, len(ids), STATES_CHUNK):
            params = {"p_video_ids": ids[i : i + STATES_CHUNK]}
            found.update(parse_states(self.call("tubeq_video_states", params)))
        return found

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        for i in range(0, len(jobs), CHUNK):
            self.call("tubeq_mark_queued", {"payload": jobs_payload(jobs[i : i + CHUNK])})

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        after: tuple[str | None, str | None] = (None, None)
        while True:
            params = {
                "p_channel_id": channel_id,
                "p_after_published": after[0],
                "p_after_video_id": after[1],
                "p_limit": CHUNK,
            }
            page = parse_statuses(self.call("tubeq_channel_results", params))
            yield from page
            if len(page) < CHUNK:
                return
            after = page_cursor(page)
