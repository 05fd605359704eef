"""Template results on Postgres and Supabase: the methods of ``TemplateResults`` over the
named blocks of ``sql/queries/postgres_templates.sql`` (each one function call of
``sql/014_templates.sql``); the subclasses say how a block is run (psycopg, PostgREST).
``FunctionTemplateReader`` is the read the result stores themselves offer (the dashboard's
``TemplateResultReader``), on the same block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.adapters._template_results_rows import result_of_json, result_payload
from shared.models import ArtifactRef
from shared.sql_queries import Queries, load
from shared.templates.results import TemplateResult

TEMPLATE_QUERIES: Queries = load("postgres_templates.sql")


def results_of_rows(rows: Any) -> list[TemplateResult]:
    """The results of ``tubeq_template_results_of`` (a JSON array; None or [] when none)."""
    return [r for r in (result_of_json(d) for d in rows or []) if r is not None]


class FunctionTemplateReader:
    """``TemplateResultReader`` over a result store's ``run_sql``; a base of
    ``FunctionResultStore``, as ``FunctionConsumerRegistry`` is."""

    def run_sql(self, block: str, **params: Any) -> Any:
        """Run this block's SQL (one function call); the function's value as JSON data."""
        raise NotImplementedError  # FunctionResultStore's adapters run the block

    def template_results(self, video_id: str) -> list[TemplateResult]:
        return results_of_rows(
            self.run_sql(TEMPLATE_QUERIES["template_results"], video_id=video_id)
        )


class FunctionTemplateResults:
    def run(self, query: str, **params: Any) -> Any:
        """The block's single value (dicts and lists are passed as JSON)."""
        raise NotImplementedError

    def find_template_result(self, video_id: str, analysis_version: str) -> TemplateResult | None:
        data = self.run(
            "find_template_result", video_id=video_id, analysis_version=analysis_version
        )
        return result_of_json(data)

    def save_template_result(self, result: TemplateResult) -> None:
        self.run("save_template_result", result=result_payload(result))

    def complete_template_result(
        self, video_id: str, analysis_version: str, artifacts: Sequence[ArtifactRef]
    ) -> None:
        self.run(
            "complete_template_result",
            video_id=video_id,
            analysis_version=analysis_version,
            artifacts=[a.model_dump(mode="json") for a in artifacts],
        )

    def template_results(self, video_id: str) -> list[TemplateResult]:
        return results_of_rows(self.run("template_results", video_id=video_id))
