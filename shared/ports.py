"""The ports: one small Protocol per outside system.

The core (``consumer.pipeline``, ``consumer.runner``, ``producer``) depends only on these.
Every port has an embedded adapter (the default, zero setup) and a production adapter in
``shared.adapters``; the same contract tests in ``tests/contract`` run against each.

Every method may raise a ``shared.errors.TubeqError``; adapters translate their library's
exceptions through ``shared.classify`` so the core never sees a library exception type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shared.ask import Answer, Passage
from shared.cloudflare_types import ConsumerInfo, PullConsumerSpec, QueueInfo
from shared.embeddings import (
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    EmbedTask,
    SemanticMatch,
)
from shared.fleet import BudgetUsage, ConsumerBeat, RunningConsumer
from shared.gemini.batch_models import (
    BatchItem,
    BatchRecord,
    BatchReply,
    BatchState,
    ItemState,
    RemoteBatch,
)
from shared.jobs import Job
from shared.listing import (
    ListingRef,
    ListingTarget,
    PlaylistPage,
    RefKind,
    VideoDetails,
)
from shared.models import (
    Alert,
    Analysis,
    ArtifactRef,
    BilledCall,
    ChannelSummary,
    DeadLetter,
    Delivery,
    FailureRecord,
    Progress,
    QueueStats,
    Transcript,
    Usage,
    VideoJob,
    VideoMeta,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.search import SearchHit, SearchQuery
from shared.templates.model import AnalysisTemplate
from shared.templates.results import TemplateResult


@runtime_checkable
class Queue(Protocol):
    """At-least-once job queue with leases, retries and a dead-letter queue.

    Semantics follow Cloudflare Queues: a pulled message is leased for the visibility
    timeout; unless acked or retried in time it is delivered again. ``retry`` counts an
    attempt; a message retried when it has been delivered ``max_retries + 1`` times goes to
    the dead-letter queue instead.

    Messages are job envelopes (``shared.jobs``): the queue carries any kind of job and
    knows none; a message that is not an envelope at all is dead-lettered by ``pull``.
    """

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int:
        """Enqueue jobs (chunked by the adapter to its batch limits); returns how many."""
        ...

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        """Lease up to ``batch_size`` ready messages."""
        ...

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Done with these: delete them. Acking twice, or after the lease expired, is harmless."""
        ...

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Redeliver after ``delay_s`` (or dead-letter it when out of retries)."""
        ...

    #: whether ``release`` still spends an attempt (Cloudflare counts a delivery when it is
    #: pulled, and a handback is a retry there); False where it is free (SQLite)
    release_counts_attempt: bool

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Hand it back for redelivery after ``delay_s`` without spending this delivery's
        attempt, for failures that are not the message's (a store outage, a refused key):
        never dead-letters it. Where the backend cannot give an attempt back
        (``release_counts_attempt``) it is a ``retry``, so the caller picks a long delay.
        A stale lease is ignored, as for ``retry``."""
        ...

    def leases_expire_by(self) -> datetime | None:
        """When every lease held now runs out unless extended (a consumer's, this one's or a
        dead one's); None when none is held or the backend cannot tell (Cloudflare)."""
        ...

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move it to the dead-letter queue now, whatever its attempts (a job this consumer
        cannot read); ``reason`` is kept as its last error where the backend keeps one.
        Meant for right after a pull: a backend that can check the lease first (SQLite)
        ignores a stale one; Cloudflare publishes to the DLQ before its ack can tell."""
        ...

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        """Push the lease out; False where the backend cannot (the runner then keeps to
        the original lease)."""
        ...

    def stats(self) -> QueueStats: ...

    #: whether listing dead letters costs them an attempt (Cloudflare's DLQ), so operators
    #: read dead videos from the result store unless they ask to peek
    dead_letter_listing_consumes: bool

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """List the dead-letter queue itself, whatever it costs (where listing is free, the
        same as ``dead_letters``)."""
        ...

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or these) back to the queue with fresh attempts."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TranscriptSource(Protocol):
    name: str

    def fetch(self, video_id: str) -> Transcript:
        """The transcript of a video, or a PermanentError/TransientError saying why not."""
        ...

    def close(self) -> None:
        """Release sessions and files (a no-op where there are none); the source is done."""
        ...


@runtime_checkable
class Analyzer(Protocol):
    name: str

    @property
    def analysis_version(self) -> str:
        """Part of the idempotency key: changes when the model or prompt changes."""
        ...

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis: ...

    def close(self) -> None:
        """Release clients and budgets (a no-op where there are none)."""
        ...


@runtime_checkable
class VideoAnalyzer(Protocol):
    """An analyzer that can watch a public video itself (Gemini), for videos without a
    transcript. A declared capability: the pipeline asks ``isinstance(a, VideoAnalyzer)``."""

    def analyze_video(self, video_id: str, meta: VideoMeta | None) -> Analysis: ...


@runtime_checkable
class BudgetGrant(Protocol):
    """One call's share of a ``RateBudget``, as ``acquire`` granted it."""

    def refund(self) -> None:
        """Give the share back: the server refused the call (429), so it did not count
        against the quota. Refunding twice gives it back once."""
        ...


@runtime_checkable
class RateBudget(Protocol):
    """A rate budget shared by every consumer that calls a paid model (``shared.rate_budget``):
    requests and input tokens per window, paced through the window, spent together across
    processes (one machine's file) or machines (the result database)."""

    def acquire(self, tokens: int, timeout_s: float) -> BudgetGrant:
        """Take one request and ``tokens`` input tokens from the budget, waiting at most
        ``timeout_s`` for the slot; raise ``RateLimited(retry_after=…)`` at once, taking
        nothing, when the slot is further away."""
        ...

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (the server said so: pass its Retry-After,
        no more); a pause only ever extends, never shortens, one already set."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SpendLedger(Protocol):
    """Every billed model call, kept where the results are (issue 9: spend counted even for
    calls whose video ends failed). Recording the same ``call_id`` twice keeps one row."""

    def record_call(self, call: BilledCall) -> None: ...


@runtime_checkable
class PartialStore(Protocol):
    """Where a paid partial result (one chunk's reply) is kept the moment it arrives, so a
    retry reuses it instead of buying it again (``shared.gemini.partials``)."""

    def get(self, key: str) -> bytes | None:
        """The bytes saved under ``key``, or None when there are none."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Save (or overwrite) ``data`` under ``key``."""
        ...


# ---- the result store: four narrow ports, one backend that has them all ------------------
# Each consumer names the narrow port it uses; every result adapter (SQLite, Postgres,
# Supabase) implements all four and the ``SpendLedger`` above, and ``ResultBackend`` is
# what the factory builds.


@runtime_checkable
class AnalysisClaims(Protocol):
    """Who may pay for an analysis, and the paid replies kept for reuse (the pipeline)."""

    def find_analysis(self, video_id: str, analysis_version: str) -> Analysis | None:
        """A saved analysis of this version, finished video or not (a paid result to reuse)."""
        ...

    def save_analysis(self, analysis: Analysis) -> None:
        """Keep a model reply the moment it arrives, before any later step can fail."""
        ...

    def claim_analysis(
        self, video_id: str, analysis_version: str, owner: str, ttl_s: float
    ) -> float:
        """Take (or renew) the right to pay for this analysis for ``ttl_s`` seconds.

        Returns 0 when ``owner`` holds the claim afterwards, else the seconds until the
        current holder's claim expires. Two copies of one message running at once (at-least
        -once delivery) then never both call the model. A ``ttl_s`` of 0 releases one's own
        claim; outside 0 s to 7 days is ``InvalidInput``.
        """
        ...


@runtime_checkable
class VideoStates(Protocol):
    """Where each video stands (the pipeline's skip, enqueueing and backfill dedupe)."""

    def is_done(self, video_id: str, analysis_version: str) -> bool: ...

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        """Which of these are already analysed with this version (backfill skips them)."""
        ...

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        """The current state of each known video among these (unknown ids are absent).

        Any number of ids: the adapter splits them into bounded queries where it must, so
        a backfill of thousands of videos costs a few round trips, not one per video.
        """
        ...

    def mark_queued(self, jobs: Sequence[VideoJob]) -> None:
        """Note enqueued videos (state 'queued' unless already further along)."""
        ...


@runtime_checkable
class ResultWriter(Protocol):
    """Where the pipeline and the runner write outcomes. Every write is an upsert by
    natural key, so a redelivered message never doubles a row."""

    def record_success(self, result: VideoResult) -> None:
        """Video, transcript, analysis, artifacts and state, in one transaction."""
        ...

    def record_failure(self, failure: FailureRecord) -> None:
        """One failed attempt: kept in the history, shown on the video unless it is done."""
        ...


@runtime_checkable
class AnalystReader(Protocol):
    """What the CLI, the API and the exports read back."""

    def get_video(self, video_id: str) -> VideoStatus | None: ...

    def progress(self) -> Progress: ...

    def failures(self, limit: int = 50) -> list[VideoStatus]: ...

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        """Every video of a channel with its analysis, for exports."""
        ...


@runtime_checkable
class ResultBackend(
    AnalysisClaims, VideoStates, ResultWriter, AnalystReader, SpendLedger, Protocol
):
    """A result adapter: all four ports on one store, which its owner closes; it also keeps
    the spend ledger (the composition root hands it to the analyzer as its ``SpendLedger``)."""

    name: str

    def close(self) -> None: ...


# Transitional, until every consumer names its narrow port: the two wide ports they use
# today (the pipeline and runner take ``ResultStore``, the producer and API take
# ``ResultReader``). New code takes the narrow ports above.


@runtime_checkable
class ResultStore(AnalysisClaims, VideoStates, ResultWriter, Protocol):
    """Deprecated: the pipeline's side; use ``AnalysisClaims``/``VideoStates``/``ResultWriter``."""

    def close(self) -> None: ...


@runtime_checkable
class ResultReader(VideoStates, AnalystReader, Protocol):
    """Deprecated: the producer's and the API's side; use ``VideoStates``/``AnalystReader``."""


@runtime_checkable
class FileUploader(Protocol):
    """Uploads a file from disk without reading it into memory (exports)."""

    def put_file(
        self, key: str, path: Path, content_type: str, *, title: str | None = None
    ) -> None: ...


@runtime_checkable
class ArtifactStore(FileUploader, Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        """Write (or overwrite) an object; keys are deterministic, so retries overwrite.
        ``title`` (the video's) names the download (``Content-Disposition``)."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def content_type(self, key: str) -> str:
        """The content type the object was stored with."""
        ...

    def url(self, key: str, expires_in: timedelta) -> str:
        """A link anyone can download the object from, valid for ``expires_in``."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object; removing one that is not there is not an error (as on S3)."""
        ...

    def close(self) -> None: ...


# ---- the HTTP API's queue ----------------------------------------------------------------


class ApiQueue(Protocol):
    """What the API and ``tubeq dlq`` need of a queue: the ``Queue`` port, or the Worker's
    async sender (whose ``send`` is awaited)."""

    #: whether listing dead letters costs them an attempt (Cloudflare: pull-and-release; past
    #: the DLQ consumer's max_retries they are deleted), so they are read from the results
    dead_letter_listing_consumes: bool

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int | Awaitable[int]: ...

    def stats(self) -> QueueStats: ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """List the dead-letter queue itself, whatever it costs (``dead_letters`` may refuse
        where ``dead_letter_listing_consumes``; elsewhere the two are the same)."""
        ...

    def redrive(self, message_ids: Sequence[str] | None = None) -> int: ...


# ---- listing (channel and playlist backfills, the cron) ----------------------------------


class JobSender(Protocol):
    """Where the producer puts jobs: the ``Queue`` port's ``send``, or the Worker's Queue
    binding's (a Promise, awaited). Callers await the answer when it is awaitable."""

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int | Awaitable[int]: ...


class WatchState(Protocol):
    """What the Worker's cron remembers between runs: the two Workers KV methods it uses
    (both return Promises)."""

    def get(self, key: str) -> Awaitable[Any]: ...

    def put(self, key: str, value: str) -> Awaitable[Any]: ...


@runtime_checkable
class ListingSource(Protocol):
    """Channels and playlists as the YouTube Data API v3 lists them.

    Async, because the Worker (Pyodide: no threads, ``httpx.AsyncClient`` only) awaits it;
    the CLI runs the same core under ``asyncio.run``. Lookups that find nothing raise
    ``InvalidInput`` saying what was not found.
    """

    name: str
    #: which kinds of reference ``resolve`` can look up (a folder of ``channels.list``
    #: replies knows ids and handles; only the API itself knows legacy usernames)
    lookups: frozenset[RefKind]
    #: the most entries one ``playlist_page`` holds
    page_size: int

    async def resolve(self, ref: ListingRef) -> ListingTarget:
        """A channel (its uploads playlist) or a playlist, with its title."""
        ...

    async def playlist_page(self, playlist_id: str, token: str | None = None) -> PlaylistPage:
        """One page of a playlist, in playlist order (a channel's uploads: newest first)."""
        ...

    async def video_details(self, video_ids: Sequence[str]) -> dict[str, VideoDetails]:
        """Metadata and live state of the videos that exist and are public (any number of
        ids; private and deleted ones are absent)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class CloudflareAccount(Protocol):
    """One Cloudflare account's queues, consumers, R2 buckets and KV namespaces, read and
    provisioned (``tubeq cloudflare setup``, ``tubeq doctor``). Creates are not idempotent
    on Cloudflare's side; the setup plan reads first and creates only what is missing."""

    account_id: str

    def list_queues(self) -> list[QueueInfo]: ...

    def get_queue(self, queue_id: str) -> QueueInfo | None: ...

    def create_queue(self, name: str) -> QueueInfo: ...

    def list_consumers(self, queue_id: str) -> list[ConsumerInfo]: ...

    def create_pull_consumer(self, queue_id: str, spec: PullConsumerSpec) -> ConsumerInfo: ...

    def update_pull_consumer(
        self, queue_id: str, consumer_id: str, spec: PullConsumerSpec
    ) -> ConsumerInfo: ...

    def bucket_exists(self, name: str) -> bool: ...

    def create_bucket(self, name: str) -> None: ...

    def lifecycle_rules(self, bucket: str) -> list[dict[str, Any]]: ...

    def put_lifecycle_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None: ...

    def find_kv_namespace(self, title: str) -> str | None: ...

    def create_kv_namespace(self, title: str) -> str: ...

    def close(self) -> None: ...


# ---- Gemini batches (issue 12: half-price backfills) -------------------------------------


@runtime_checkable
class BatchStore(Protocol):
    """Where batches and their videos are kept (the result store, ``sql/010_batches.sql``),
    written before and after every call to Gemini so a crash loses nothing and no batch is
    submitted twice (``shared.gemini.batch_models``)."""

    def batch_add(
        self, item: BatchItem, new_batch_id: str, max_items: int
    ) -> tuple[BatchRecord, bool]:
        """Put a video's request in the open batch of its analysis version (opening one
        under ``new_batch_id`` if there is none; sealing it when it reaches ``max_items``).
        A video already pending in a live batch, or saved, stays where it is: returns that
        batch and False; True when the item was added now."""
        ...

    def batch_seal(self, batch_id: str) -> BatchRecord | None:
        """Close an open batch to new videos (a no-op in any other state); the batch."""
        ...

    def batch_get(self, batch_id: str) -> BatchRecord | None: ...

    def batch_update(
        self,
        batch_id: str,
        state: BatchState,
        *,
        remote_name: str | None = None,
        poll_chain: str | None = None,
        error: str | None = None,
    ) -> None:
        """Set its state (and, when given, its remote name, poll chain and error)."""
        ...

    def batch_items(self, batch_id: str) -> list[BatchItem]: ...

    def batch_item_settle(
        self, batch_id: str, video_id: str, state: ItemState, error: str | None = None
    ) -> None:
        """The item's outcome, if it is still in this batch (a requeued video that moved on
        to another batch is left alone)."""
        ...

    def batch_list(self, limit: int = 50) -> list[BatchRecord]:
        """Newest first."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BatchAnalyzer(Protocol):
    """The Gemini Batch API (``shared.adapters.gemini_batch``): the same prompt, schema and
    model as the online analyzer, so the same ``analysis_version``, at batch prices."""

    @property
    def analysis_version(self) -> str: ...

    def request_text(self, transcript: Transcript, meta: VideoMeta | None) -> str | None:
        """The request's user text for this video; None when it needs the chunked
        (map-reduce) path, which runs online."""
        ...

    def submit(self, display_name: str, items: Sequence[BatchItem]) -> RemoteBatch:
        """The batch named ``display_name`` at Gemini: the one already there (a submit that
        died after creating it), else created now (inline requests, or a JSONL file through
        the Files API above the inline limit)."""
        ...

    def get(self, name: str) -> RemoteBatch: ...

    def results(self, name: str) -> list[BatchReply]:
        """Every reply of a succeeded batch, validated like an online reply."""
        ...

    def list(self, limit: int = 50) -> list[RemoteBatch]: ...

    def cancel(self, name: str) -> None: ...

    def close(self) -> None: ...


# ---- issue 10: channels listing, operator alerts -------------------------------------------


@runtime_checkable
class ChannelDirectory(Protocol):
    """A declared capability of a result store: the channels it holds videos of, with
    counts (``tubeq channels``, ``tubeq export`` without a channel, the dashboard). The
    SQLite and Postgres stores have it; on Supabase the ``channel_overview`` view answers
    the same in Studio."""

    def channels(self) -> list[ChannelSummary]: ...


@runtime_checkable
class AlertSender(Protocol):
    """Where an operator alert goes: a Slack-compatible incoming webhook, e-mail over SMTP
    (``shared.alerts`` decides when; a sender only delivers)."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver it, or raise a ``TubeqError`` (never with a secret in its message)."""
        ...


@runtime_checkable
class ActivityReader(Protocol):
    """A declared capability of a result store: when videos finished, for the dashboard's
    throughput and ETA (``producer.dashboard``). The SQLite and Postgres stores have it;
    on Supabase (PostgREST) the dashboard says throughput is unknown."""

    def finished_since(self, since: datetime) -> list[datetime]:
        """When each video that finished (done) at or after ``since`` did, oldest first."""
        ...


# ---- issue 13: search and ask ------------------------------------------------------------


@runtime_checkable
class Search(Protocol):
    """Full-text search over every transcript in the result store (``shared.search``): FTS5
    on SQLite, tsvector on Postgres and Supabase. Each hit is the segment where the words
    are spoken; a query with nothing to search for is ``InvalidInput``."""

    name: str

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The best hits first, at most ``query.limit``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Answerer(Protocol):
    """Answers a question from numbered transcript passages only (``shared.ask``): Gemini
    with structured output, or offline the passages themselves."""

    name: str

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer: ...

    def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors (semantic search, ``shared.embeddings``): Gemini's embedding
    model. One call per ``embed``; the caller keeps each batch within ``max_batch``."""

    name: str
    model: EmbeddingModel
    #: the most texts one call takes (the Gemini API: 100)
    max_batch: int

    def embed(self, texts: Sequence[str], task: EmbedTask) -> tuple[list[list[float]], Usage]:
        """One vector per text, in order, each ``model.dimensions`` long (else
        ``DimensionMismatch``), and the call's billed usage (``model_calls=1``)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class VectorIndex(Protocol):
    """Where the vectors live and are searched: sqlite-vec beside the embedded store,
    pgvector in Postgres/Supabase. Everything is per ``EmbeddingModel``."""

    name: str

    def plan(self, video_id: str, model: EmbeddingModel) -> EmbeddingPlan | None:
        """The video's texts to embed now, each with the hash of its stored vector; vectors of
        texts that are gone (a re-analysed video) are dropped. None: not analysed (yet)."""
        ...

    def save(
        self, plan: EmbeddingPlan, model: EmbeddingModel, rows: Sequence[EmbeddedText]
    ) -> None:
        """Upsert these vectors (by video, model, kind, ref)."""
        ...

    def nearest(
        self, query: SearchQuery, vector: Sequence[float], model: EmbeddingModel
    ) -> list[SemanticMatch]:
        """The passages most similar to ``vector``, best first, at most ``query.limit``,
        with the query's filters (channel, since, language)."""
        ...

    def count(self, model: EmbeddingModel) -> int:
        """How many vectors of this model there are (0: semantic search has nothing yet)."""
        ...

    def analysed_videos(self, channel_id: str | None = None) -> list[str]:
        """Every video with a finished analysis (of this channel), for ``tubeq embed``."""
        ...

    def close(self) -> None: ...


# ---- issue 13: analyses the user defines -------------------------------------------------


@runtime_checkable
class TemplateAnalyzer(Protocol):
    """Runs an analysis template (``shared.templates``) on a transcript: Gemini with the
    template's schema as structured output, or offline heuristics. What it returns matches
    the template's schema (checked), or it raises a ``TubeqError`` saying why not."""

    name: str

    @property
    def analysis_version(self) -> str:
        """The analyzer's own version: a template's key is built on it (``version_key``)."""
        ...

    def analyze_template(
        self, template: AnalysisTemplate, transcript: Transcript, meta: VideoMeta | None
    ) -> TemplateResult: ...

    def close(self) -> None: ...


@runtime_checkable
class TemplateResultReader(Protocol):
    """A declared capability of a result store (every one has it): a video's template
    results, for the dashboard's video page and the static export, on the store's own
    connection (the same reader as ``get_video``)."""

    def template_results(self, video_id: str) -> list[TemplateResult]:
        """Every completed template result of a video, newest first."""
        ...


@runtime_checkable
class TemplateResults(TemplateResultReader, Protocol):
    """Template results in the result store (``template_results``), upserted by (video id,
    analysis version): a row is kept the moment the paid reply arrives, and completed
    (with its artifacts) once they are written. Claims and the spend ledger are the result
    store's own (``AnalysisClaims``, ``SpendLedger``), keyed by the template's version key."""

    name: str

    def find_template_result(self, video_id: str, analysis_version: str) -> TemplateResult | None:
        """The saved result of this version, completed or not (a paid reply to reuse)."""
        ...

    def save_template_result(self, result: TemplateResult) -> None: ...

    def complete_template_result(
        self, video_id: str, analysis_version: str, artifacts: Sequence[ArtifactRef]
    ) -> None:
        """Mark it done with its artifacts (also listed with the video's other artifacts
        when the video is known to the store)."""
        ...

    def close(self) -> None: ...


# ---- issue 10: the overview's fleet panels ---------------------------------------------------


@runtime_checkable
class ConsumerRegistry(Protocol):
    """A declared capability of a result store: the consumers running now. Each consumer
    upserts its row on its heartbeat (every few seconds, never per video) and deletes it on
    a clean stop; a row not refreshed for ``STALE_AFTER_BEATS`` intervals is a lost consumer
    (killed, frozen, cut off). Every result store has it (SQLite, Postgres, Supabase)."""

    def consumer_beat(self, beat: ConsumerBeat) -> None:
        """Insert or refresh this consumer's row (last seen: now, on the store's clock)."""
        ...

    def consumer_gone(self, consumer_id: str) -> None:
        """A clean stop: remove the row (an unknown id is not an error)."""
        ...

    def consumers(self) -> list[RunningConsumer]:
        """Every consumer with a row, the most recently started first."""
        ...


@runtime_checkable
class BudgetMeter(Protocol):
    """Reads the shared rate budget's state (``shared.rate_budget``) to say how much of the
    model quota is in use; it never takes, returns or pauses anything."""

    def usage(self) -> BudgetUsage:
        """The window ending now; ``exists`` False when no consumer has made a call yet."""
        ...

    def close(self) -> None: ...
