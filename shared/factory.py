"""The composition root: settings → adapters. The only module that knows them all.

Adapters are imported lazily, so the embedded default never imports boto3, psycopg,
google-genai or supabase, and a missing optional piece fails only when it is selected.
Every adapter class offers ``from_settings(section)`` and takes only its own small section
of the settings (``settings.sqlite_queue``, ``settings.postgres``, ``settings.gemini``,
``settings.r2``, … from ``shared.adapter_settings``), never the whole ``Settings``: this is
the one place that picks the section for the selected backend. The adapters on one result
database (results, batches, search, vectors, template results) share that engine's section.
What an adapter needs from another port (Gemini's rate budget and chunk cache) is built here
and injected: adapters never call back into this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.adapter_settings import (
    PostgresSettings,
    R2Settings,
    RateBudgetSettings,
    SqliteStoreSettings,
    SqliteVectorSettings,
    SupabaseSettings,
    YouTubeTranscriptSettings,
)
from shared.embeddings import EmbeddingModel
from shared.errors import ConfigError
from shared.ports import (
    AlertSender,
    Analyzer,
    Answerer,
    ArtifactStore,
    BatchAnalyzer,
    BatchStore,
    BudgetMeter,
    CloudflareAccount,
    Embedder,
    ListingSource,
    Queue,
    RateBudget,
    ResultBackend,
    Search,
    SpendLedger,
    TemplateAnalyzer,
    TemplateResults,
    TranscriptSource,
    VectorIndex,
)
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.hybrid import RankedSearch

_QUEUES = {
    "sqlite": "shared.adapters.sqlite_queue:SqliteQueue",
    "cloudflare": "shared.adapters.cloudflare_queue:CloudflareQueue",
}
_TRANSCRIPTS = {
    "directory": "shared.adapters.directory_transcripts:DirectoryTranscriptSource",
    "youtube": "shared.adapters.youtube_transcripts:YouTubeTranscriptSource",
}
_ANALYZERS = {
    "extractive": "shared.adapters.extractive_analyzer:ExtractiveAnalyzer",
    "gemini": "shared.adapters.gemini_analyzer:GeminiAnalyzer",
}
_RESULTS = {
    "sqlite": "shared.adapters.sqlite_results:SqliteResultStore",
    "postgres": "shared.adapters.postgres_results:PostgresResultStore",
    "supabase": "shared.adapters.supabase_results:SupabaseResultStore",
}
_ARTIFACTS = {
    "local": "shared.adapters.local_artifacts:LocalArtifactStore",
    "r2": "shared.adapters.r2_artifacts:R2ArtifactStore",
}

_CLOUDFLARE_ACCOUNT = {"cloudflare": "shared.adapters.cloudflare_account:CloudflareAccount"}
_LISTINGS = {
    "directory": "shared.adapters.directory_listing:DirectoryListingSource",
    # in producer/, not shared/adapters/: the Worker ships it (and no adapter folder)
    "youtube": "shared.youtube_data_api:YouTubeDataApiListing",
}


def _adapter(table: dict[str, str], name: str) -> Any:
    """The adapter class registered as ``name`` (its module imported now, not before)."""
    module_name, _, cls_name = table[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def _on_store(
    table: dict[str, str], settings: Settings, *, sqlite: SqliteVectorSettings | None = None
) -> Any:
    """The ``table`` adapter of the selected result database, built on that database's
    section, which all its adapters share (``sqlite``: a SQLite adapter's own section)."""
    name = settings.results_backend
    section: SqliteStoreSettings | SqliteVectorSettings | PostgresSettings | SupabaseSettings
    if name == "postgres":
        section = settings.postgres
    elif name == "supabase":
        section = settings.supabase
    else:
        section = sqlite or settings.sqlite_store
    return _adapter(table, name).from_settings(section)


def build_queue(settings: Settings) -> Queue:
    name = settings.queue_backend
    section = settings.cloudflare_queue if name == "cloudflare" else settings.sqlite_queue
    queue: Queue = _adapter(_QUEUES, name).from_settings(section)
    return queue


def build_transcript_source(settings: Settings) -> TranscriptSource:
    name = settings.transcript_backend
    section = settings.youtube_transcripts if name == "youtube" else settings.directory_transcripts
    source: TranscriptSource = _adapter(_TRANSCRIPTS, name).from_settings(section)
    return source


#: the fleet-wide budget (TUBEQ_RATE_BUDGET_BACKEND=results), by the result store it lives in
_FLEET_BUDGETS = {
    "postgres": "shared.adapters.postgres_budget:PostgresRateBudget",
    "supabase": "shared.adapters.supabase_budget:SupabaseRateBudget",
}


def build_rate_budget(settings: Settings) -> RateBudget:
    """The model-call budget the consumers share: every one on this machine (``local``, one
    SQLite file) or every one in the fleet (``results``, rows in the result database)."""
    section = settings.rate_budget
    if section.backend == "local":
        from shared.rate_budget import SqliteRateBudget

        return SqliteRateBudget.from_settings(section)
    budget: RateBudget = _fleet_budget(section).from_settings(section)
    return budget


def _fleet_budget(section: RateBudgetSettings) -> Any:
    """The fleet budget's class (``FleetRateBudget``) for the result store it lives in."""
    if section.results_backend not in _FLEET_BUDGETS:
        raise ConfigError(
            "TUBEQ_RATE_BUDGET_BACKEND=results keeps the budget in the result store a fleet "
            f"shares, but TUBEQ_RESULTS_BACKEND={section.results_backend} is one machine's "
            "file: use postgres or supabase results, or TUBEQ_RATE_BUDGET_BACKEND=local"
        )
    return _adapter(_FLEET_BUDGETS, section.results_backend)


def build_budget_meter(settings: Settings) -> BudgetMeter:
    """A read-only view of the same budget ``build_rate_budget`` spends (the overview's and
    ``tubeq status``'s quota reading): the local file opened read-only, or the fleet's rows
    read through the result store's database."""
    section = settings.rate_budget
    if section.backend == "local":
        from shared.rate_budget.sqlite import SqliteBudgetMeter

        return SqliteBudgetMeter.from_settings(section)
    meter: BudgetMeter = _fleet_budget(section).from_settings(section)  # it reads its rows
    return meter


def build_analyzer(settings: Settings, *, ledger: SpendLedger | None = None) -> Analyzer:
    """The analyzer; a paid one reports every call it is billed for to ``ledger``.

    The consumer passes its result store (every ``ResultBackend`` is a ``SpendLedger``), so
    the spend of calls whose video ends failed is kept where the results are. The store
    stays the caller's: the analyzer only records into it and never closes it. Without a
    ledger (a backfill that only wants ``analysis_version``) nothing is recorded.
    The offline extractive analyzer bills nothing and takes none.
    """
    name = settings.analyzer_backend
    cls = _adapter(_ANALYZERS, name)
    if name != "gemini":
        analyzer: Analyzer = cls.from_settings(settings.extractive)
        return analyzer
    from shared.gemini.partials import ArtifactPartialStore

    # Paid chunk replies are kept in the artifact store (``cache/gemini/``), so a retry on
    # any machine reuses them; the budget is shared with every consumer on this one.
    partials = ArtifactPartialStore(build_artifacts(settings))
    budget = build_rate_budget(settings)
    try:
        analyzer = cls.from_settings(
            settings.gemini, budget=budget, partials=partials, ledger=ledger
        )
    except BaseException:
        budget.close()
        raise
    return analyzer


#: analysis templates (issue 13): who runs them, and where their results are kept
_TEMPLATE_ANALYZERS = {
    "extractive": "shared.adapters.extractive_templates:ExtractiveTemplateAnalyzer",
    "gemini": "shared.adapters.gemini_templates:GeminiTemplateAnalyzer",
}
_TEMPLATE_RESULTS = {
    "sqlite": "shared.adapters.sqlite_template_results:SqliteTemplateResults",
    "postgres": "shared.adapters.postgres_template_results:PostgresTemplateResults",
    "supabase": "shared.adapters.supabase_template_results:SupabaseTemplateResults",
}


def build_template_analyzer(
    settings: Settings, *, ledger: SpendLedger | None = None
) -> TemplateAnalyzer:
    """Runs templates with the selected analyzer (Gemini: its own client on the shared
    rate budget, every billed call into ``ledger``, attempt counters beside the chunk cache)."""
    name = settings.analyzer_backend
    cls = _adapter(_TEMPLATE_ANALYZERS, name)
    if name != "gemini":
        analyzer: TemplateAnalyzer = cls.from_settings(settings.extractive)
        return analyzer
    from shared.gemini.partials import ArtifactPartialStore

    partials = ArtifactPartialStore(build_artifacts(settings))
    budget = build_rate_budget(settings)
    try:
        analyzer = cls.from_settings(
            settings.gemini, budget=budget, partials=partials, ledger=ledger
        )
    except BaseException:
        budget.close()
        raise
    return analyzer


def build_template_results(settings: Settings) -> TemplateResults:
    store: TemplateResults = _on_store(_TEMPLATE_RESULTS, settings)
    return store


def build_results(settings: Settings) -> ResultBackend:
    store: ResultBackend = _on_store(_RESULTS, settings)
    return store


def build_youtube_transcripts(section: YouTubeTranscriptSettings) -> TranscriptSource:
    """The YouTube source on this section, whatever is selected (``tubeq doctor`` checks
    it with capped timeouts)."""
    source: TranscriptSource = _adapter(_TRANSCRIPTS, "youtube").from_settings(section)
    return source


def build_r2_artifacts(section: R2Settings) -> ArtifactStore:
    """The R2 store on this section, whatever is selected (``tubeq doctor`` probes it)."""
    store: ArtifactStore = _adapter(_ARTIFACTS, "r2").from_settings(section)
    return store


def build_artifacts(settings: Settings) -> ArtifactStore:
    name = settings.artifacts_backend
    section = settings.r2 if name == "r2" else settings.local_artifacts
    store: ArtifactStore = _adapter(_ARTIFACTS, name).from_settings(section)
    return store


def build_listing_source(settings: Settings) -> ListingSource:
    """Channel and playlist listings (``TUBEQ_LISTING_BACKEND``, ``auto`` resolved)."""
    name = settings.listing
    section = settings.youtube_data_api if name == "youtube" else settings.directory_listing
    listing: ListingSource = _adapter(_LISTINGS, name).from_settings(section)
    return listing


def build_cloudflare_account(settings: Settings, *, max_retries: int = 2) -> CloudflareAccount:
    """The Cloudflare account API (``tubeq cloudflare setup``, ``tubeq doctor``), whatever
    queue is selected; ``max_retries``: the SDK's own replays (the doctor wants none)."""
    cls = _adapter(_CLOUDFLARE_ACCOUNT, "cloudflare")
    account: CloudflareAccount = cls.from_settings(
        settings.cloudflare_account, max_retries=max_retries
    )
    return account


#: where batches are kept (issue 12): the result store's own file or database
_BATCH_STORES = {
    "sqlite": "shared.adapters.sqlite_results:SqliteResultStore",
    "postgres": "shared.adapters.postgres_results:PostgresResultStore",
    "supabase": "shared.adapters.supabase_results:SupabaseResultStore",
}


def build_batch_analyzer(settings: Settings) -> BatchAnalyzer:
    """The Gemini Batch API client (``tubeq backfill --batch``, ``tubeq batch``)."""
    cls = _adapter({"gemini": "shared.adapters.gemini_batch:GeminiBatchAnalyzer"}, "gemini")
    analyzer: BatchAnalyzer = cls.from_settings(
        settings.gemini, inline_max_bytes=settings.gemini_batch_inline_max_bytes
    )
    return analyzer


def build_batch_store(settings: Settings) -> BatchStore:
    """Where batches and their videos are kept: the result store's own file or database."""
    if settings.results_backend not in _BATCH_STORES:
        raise ConfigError(
            f"batch backfills keep their batches in the result store, and the "
            f"{settings.results_backend} store has none: use sqlite, postgres or supabase"
        )
    store: BatchStore = _on_store(_BATCH_STORES, settings)
    return store


#: full-text search (issue 13), over the result store's own transcripts
_SEARCHES = {
    "sqlite": "shared.adapters.sqlite_search:SqliteSearch",
    "postgres": "shared.adapters.postgres_search:PostgresSearch",
    "supabase": "shared.adapters.supabase_search:SupabaseSearch",
}


#: semantic search (issue 13): vectors beside the result store's own data
_VECTORS = {
    "sqlite": "shared.adapters.sqlite_vectors:SqliteVectors",
    "postgres": "shared.adapters.postgres_vectors:PostgresVectors",
    "supabase": "shared.adapters.supabase_vectors:SupabaseVectors",
}


def embedding_model(settings: Settings) -> EmbeddingModel:
    return EmbeddingModel(settings.embedding_model, settings.embedding_dimensions)


def build_embedder(settings: Settings) -> Embedder:
    """Gemini's embedding model (``TUBEQ_EMBEDDING_BACKEND=gemini``); ``ConfigError`` when
    semantic search is off."""
    if settings.embedding_backend == "none":
        raise ConfigError(
            "semantic search is off (TUBEQ_EMBEDDING_BACKEND=none): set it to gemini, with "
            "TUBEQ_GEMINI_API_KEY, to embed passages and search by meaning"
        )
    cls = _adapter({"gemini": "shared.adapters.gemini_embedder:GeminiEmbedder"}, "gemini")
    embedder: Embedder = cls.from_settings(
        settings.gemini,
        model=embedding_model(settings),
        price_per_m=settings.embedding_price_per_m,
        max_batch=settings.embedding_batch_size,
    )
    return embedder


def build_vectors(settings: Settings) -> VectorIndex:
    """The vector index of the selected result store (sqlite-vec, pgvector)."""
    # sqlite-vec keeps its vectors in a file of their own, beside the result store's
    vectors: VectorIndex = _on_store(_VECTORS, settings, sqlite=settings.sqlite_vectors)
    return vectors


def build_search(settings: Settings, *, ledger: SpendLedger | None = None) -> RankedSearch:
    """Search on the selected result store: full-text always, semantic and hybrid when
    ``TUBEQ_EMBEDDING_BACKEND`` is set (its query embeddings recorded in ``ledger``). Cheap
    to build, so one per request is fine. The caller closes it."""
    from shared.hybrid import RankedSearch, SemanticSide

    fulltext: Search = _on_store(_SEARCHES, settings)
    if settings.embedding_backend == "none":
        return RankedSearch(fulltext)
    try:
        embedder = build_embedder(settings)
        try:
            vectors = build_vectors(settings)
        except BaseException:
            embedder.close()
            raise
    except BaseException:
        fulltext.close()
        raise
    return RankedSearch(fulltext, SemanticSide(vectors, embedder, ledger))


def build_answerer(settings: Settings, *, ledger: SpendLedger | None = None) -> Answerer:
    """What answers ``tubeq ask``: Gemini when it is the analyzer (its rate budget shared
    with the consumers, every billed call recorded in ``ledger``), else the passages
    themselves (offline, free)."""
    if settings.analyzer_backend != "gemini":
        from shared.ask import ExtractiveAnswerer

        return ExtractiveAnswerer()
    budget = build_rate_budget(settings)
    try:
        cls = _adapter({"gemini": "shared.adapters.gemini_answerer:GeminiAnswerer"}, "gemini")
        answerer: Answerer = cls.from_settings(settings.gemini, budget=budget, ledger=ledger)
    except BaseException:
        budget.close()
        raise
    return answerer


_ALERTS = {
    "webhook": "shared.adapters.webhook_alerts:WebhookAlertSender",
    "email": "shared.adapters.smtp_alerts:SmtpAlertSender",
}


def build_alert_senders(settings: Settings) -> list[AlertSender]:
    """Every configured alert destination (a webhook, e-mail): none when none is set."""
    senders: list[AlertSender] = []
    for name, section in (("webhook", settings.webhook_alerts), ("email", settings.smtp_alerts)):
        if section is not None:
            senders.append(_adapter(_ALERTS, name).from_settings(section))
    return senders
