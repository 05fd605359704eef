"""Where things are kept: the result database (results, batches, template results, all on
the selected engine's one section) and the artifact store (a folder or R2)."""

from __future__ import annotations

from shared.adapter_settings import R2Settings
from shared.factory._load import adapter, on_store
from shared.ports import ArtifactStore, BatchStore, ResultBackend, TemplateResults
from shared.settings import Settings

_RESULTS = {
    "sqlite": "shared.adapters.sqlite_results:SqliteResultStore",
    "postgres": "shared.adapters.postgres_results:PostgresResultStore",
    "supabase": "shared.adapters.supabase_results:SupabaseResultStore",
}
#: where analysis templates' results are kept (issue 13)
_TEMPLATE_RESULTS = {
    "sqlite": "shared.adapters.sqlite_template_results:SqliteTemplateResults",
    "postgres": "shared.adapters.postgres_template_results:PostgresTemplateResults",
    "supabase": "shared.adapters.supabase_template_results:SupabaseTemplateResults",
}
_ARTIFACTS = {
    "local": "shared.adapters.local_artifacts:LocalArtifactStore",
    "r2": "shared.adapters.r2_artifacts:R2ArtifactStore",
}


def build_results(settings: Settings) -> ResultBackend:
    store: ResultBackend = on_store(_RESULTS, settings)
    return store


def build_batch_store(settings: Settings) -> BatchStore:
    """Where batches and their videos are kept (issue 12): every result store keeps them in
    its own file or database, so this is the result store, typed as its batch side."""
    store: BatchStore = on_store(_RESULTS, settings)
    return store


def build_template_results(settings: Settings) -> TemplateResults:
    store: TemplateResults = on_store(_TEMPLATE_RESULTS, settings)
    return store


def build_artifacts(settings: Settings) -> ArtifactStore:
    name = settings.artifacts_backend
    section = settings.r2 if name == "r2" else settings.local_artifacts
    store: ArtifactStore = adapter(_ARTIFACTS, name).from_settings(section)
    return store


def build_r2_artifacts(section: R2Settings) -> ArtifactStore:
    """The R2 store on this section, whatever is selected (``tubeq doctor`` probes it)."""
    store: ArtifactStore = adapter(_ARTIFACTS, "r2").from_settings(section)
    return store
