"""What calls a model: the analyzer, the template analyzer, the Batch API client and the
answerer of ``tubeq ask``. The Gemini ones share one rate budget with every consumer and
report each billed call to the caller's ``SpendLedger``; the offline ones need neither."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shared.factory._load import adapter
from shared.factory.budgets import build_rate_budget
from shared.factory.stores import build_artifacts
from shared.ports import (
    Analyzer,
    Answerer,
    BatchAnalyzer,
    RateBudget,
    SpendLedger,
    TemplateAnalyzer,
)
from shared.settings import Settings

_ANALYZERS = {
    "extractive": "shared.adapters.extractive_analyzer:ExtractiveAnalyzer",
    "gemini": "shared.adapters.gemini_analyzer:GeminiAnalyzer",
}
#: analysis templates (issue 13): who runs them
_TEMPLATE_ANALYZERS = {
    "extractive": "shared.adapters.extractive_templates:ExtractiveTemplateAnalyzer",
    "gemini": "shared.adapters.gemini_templates:GeminiTemplateAnalyzer",
}
_BATCH_ANALYZERS = {"gemini": "shared.adapters.gemini_batch:GeminiBatchAnalyzer"}
_ANSWERERS = {
    "extractive": "shared.adapters.extractive_answerer:ExtractiveAnswerer",
    "gemini": "shared.adapters.gemini_answerer:GeminiAnswerer",
}

T = TypeVar("T")


def build_analyzer(settings: Settings, *, ledger: SpendLedger | None = None) -> Analyzer:
    """The analyzer; a paid one reports every call it is billed for to ``ledger``.

    The consumer passes its result store (every ``ResultBackend`` is a ``SpendLedger``), so
    the spend of calls whose video ends failed is kept where the results are. The store
    stays the caller's: the analyzer only records into it and never closes it. Without a
    ledger (a backfill that only wants ``analysis_version``) nothing is recorded.
    The offline extractive analyzer bills nothing and takes none.
    """
    analyzer: Analyzer = _selected_analyzer(_ANALYZERS, settings, ledger)
    return analyzer


def build_template_analyzer(
    settings: Settings, *, ledger: SpendLedger | None = None
) -> TemplateAnalyzer:
    """Runs templates with the selected analyzer (Gemini: its own client on the shared
    rate budget, every billed call into ``ledger``, attempt counters beside the chunk cache)."""
    analyzer: TemplateAnalyzer = _selected_analyzer(_TEMPLATE_ANALYZERS, settings, ledger)
    return analyzer


def build_batch_analyzer(settings: Settings) -> BatchAnalyzer:
    """The Gemini Batch API client (``tubeq backfill --batch``, ``tubeq batch``)."""
    analyzer: BatchAnalyzer = adapter(_BATCH_ANALYZERS, "gemini").from_settings(
        settings.gemini, inline_max_bytes=settings.gemini_batch_inline_max_bytes
    )
    return analyzer


def build_answerer(settings: Settings, *, ledger: SpendLedger | None = None) -> Answerer:
    """What answers ``tubeq ask``: Gemini when it is the analyzer (its rate budget shared
    with the consumers, every billed call recorded in ``ledger``), else the passages
    themselves (offline, free)."""
    if settings.analyzer_backend != "gemini":
        offline: Answerer = adapter(_ANSWERERS, "extractive").from_settings(settings.extractive)
        return offline
    answerer: Answerer = _on_budget(
        settings,
        lambda budget: adapter(_ANSWERERS, "gemini").from_settings(
            settings.gemini, budget=budget, ledger=ledger
        ),
    )
    return answerer


def _selected_analyzer(
    table: dict[str, str], settings: Settings, ledger: SpendLedger | None
) -> Any:
    """The ``table`` class of ``TUBEQ_ANALYZER_BACKEND`` built on its section; Gemini's also
    gets the shared budget, ``ledger`` and the chunk cache in the artifact store."""
    name = settings.analyzer_backend
    cls = adapter(table, name)
    if name != "gemini":
        return cls.from_settings(settings.extractive)
    from shared.gemini.partials import ArtifactPartialStore

    # Paid chunk replies are kept in the artifact store (``cache/gemini/``), so a retry on
    # any machine reuses them; the budget is shared with every consumer on this one.
    partials = ArtifactPartialStore(build_artifacts(settings))
    return _on_budget(
        settings,
        lambda budget: cls.from_settings(
            settings.gemini, budget=budget, partials=partials, ledger=ledger
        ),
    )


def _on_budget(settings: Settings, make: Callable[[RateBudget], T]) -> T:
    """``make`` on the shared rate budget, which is closed again if ``make`` fails (an
    analyzer that was never returned cannot close the budget it was given)."""
    budget = build_rate_budget(settings)
    try:
        return make(budget)
    except BaseException:
        budget.close()
        raise
