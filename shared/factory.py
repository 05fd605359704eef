"""The composition root: settings → adapters. The only module that knows them all.

Adapters are imported lazily, so the embedded default never imports boto3, psycopg,
google-genai or supabase, and a missing optional piece fails only when it is selected.
Every adapter class offers ``from_settings(settings)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from shared.ports import (
    Analyzer,
    ArtifactStore,
    Queue,
    ResultReader,
    ResultStore,
    TranscriptSource,
)
from shared.settings import Settings

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


def _build(table: dict[str, str], name: str, settings: Settings) -> Any:
    module_name, _, cls_name = table[name].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.from_settings(settings)


def build_queue(settings: Settings) -> Queue:
    queue: Queue = _build(_QUEUES, settings.queue_backend, settings)
    return queue


def build_transcript_source(settings: Settings) -> TranscriptSource:
    source: TranscriptSource = _build(_TRANSCRIPTS, settings.transcript_backend, settings)
    return source


def build_analyzer(settings: Settings) -> Analyzer:
    analyzer: Analyzer = _build(_ANALYZERS, settings.analyzer_backend, settings)
    return analyzer


class ResultBackend(ResultStore, ResultReader):
    """A result adapter implements both the writer and the reader port."""


def build_results(settings: Settings) -> ResultBackend:
    store: ResultBackend = _build(_RESULTS, settings.results_backend, settings)
    return store


def build_artifacts(settings: Settings) -> ArtifactStore:
    store: ArtifactStore = _build(_ARTIFACTS, settings.artifacts_backend, settings)
    return store
