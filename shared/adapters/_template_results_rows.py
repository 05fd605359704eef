"""Template results between the stores and the model: the JSON payload the Postgres
functions take, and a result from a row (SQLite) or a JSON object (Postgres, Supabase)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from shared.models import ArtifactRef, Usage
from shared.templates.results import TemplateResult

_USAGE = ("prompt_tokens", "output_tokens", "thinking_tokens", "model_calls", "cost_usd")


def result_payload(result: TemplateResult) -> dict[str, Any]:
    return result.model_dump(mode="json", exclude={"artifacts", "completed_at"})


def artifacts_json(artifacts: Sequence[ArtifactRef]) -> str:
    return json.dumps([a.model_dump(mode="json") for a in artifacts])


def result_of_row(row: sqlite3.Row) -> TemplateResult:
    """From a SQLite row: JSON columns as text, usage in columns."""
    return TemplateResult(
        video_id=row["video_id"],
        template=row["template"],
        analysis_version=row["analysis_version"],
        result=json.loads(row["result"]),
        output_schema=json.loads(row["output_schema"]),
        analyzer=row["analyzer"],
        model=row["model"],
        usage=Usage(**{k: row[k] for k in _USAGE}),
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        artifacts=tuple(ArtifactRef(**a) for a in json.loads(row["artifacts"] or "[]")),
    )


def result_of_json(data: Any) -> TemplateResult | None:
    """From ``tubeq__template_result_json`` (None: no such row)."""
    if data is None:
        return None
    if isinstance(data, str):
        data = json.loads(data)
    return TemplateResult.model_validate(data)
