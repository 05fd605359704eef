"""The composition root: settings → adapters. The only package that knows them all.

Adapters are imported lazily, so the embedded default never imports boto3, psycopg,
google-genai or supabase, and a missing optional piece fails only when it is selected.
Every adapter class offers ``from_settings(section)`` and takes only its own small section
of the settings (``settings.sqlite_queue``, ``settings.postgres``, ``settings.gemini``,
``settings.r2``, … from ``shared.adapter_settings``), never the whole ``Settings``: this is
the one place that picks the section for the selected backend. The adapters on one result
database (results, batches, search, vectors, template results) share that engine's section.
What an adapter needs from another port (Gemini's rate budget and chunk cache) is built here
and injected: adapters never call back into this package.

One module per idea, each with its ``"module:Class"`` tables: ``queues``, ``sources``
(transcripts, listings), ``stores`` (result database, artifacts), ``budgets``,
``analyzers`` (everything that calls a model), ``search`` (full-text, vectors,
embeddings) and ``alerts``. Callers import the builders from here.
"""

from __future__ import annotations

from shared.factory.alerts import build_alert_senders
from shared.factory.analyzers import (
    build_analyzer,
    build_answerer,
    build_batch_analyzer,
    build_template_analyzer,
)
from shared.factory.budgets import build_budget_meter, build_rate_budget
from shared.factory.queues import build_cloudflare_account, build_queue
from shared.factory.search import build_embedder, build_search, build_vectors, embedding_model
from shared.factory.sources import (
    build_listing_source,
    build_transcript_source,
    build_youtube_transcripts,
)
from shared.factory.stores import (
    build_artifacts,
    build_batch_store,
    build_r2_artifacts,
    build_results,
    build_template_results,
)

__all__ = [
    "build_alert_senders",
    "build_analyzer",
    "build_answerer",
    "build_artifacts",
    "build_batch_analyzer",
    "build_batch_store",
    "build_budget_meter",
    "build_cloudflare_account",
    "build_embedder",
    "build_listing_source",
    "build_queue",
    "build_r2_artifacts",
    "build_rate_budget",
    "build_results",
    "build_search",
    "build_template_analyzer",
    "build_template_results",
    "build_transcript_source",
    "build_vectors",
    "build_youtube_transcripts",
    "embedding_model",
]
