"""The built-in ``summary`` template: tubeq's original analysis, described as a template.
It runs through the summary pipeline (``consumer.pipeline``) as before, under the
analyzer's own version key; this description is what ``tubeq templates show`` prints."""

from __future__ import annotations

from shared.gemini.prompt import SYSTEM_INSTRUCTION, response_json_schema
from shared.templates.model import SUMMARY, AnalysisTemplate


def summary_template() -> AnalysisTemplate:
    return AnalysisTemplate(
        name=SUMMARY,
        version="built-in",
        description="A summary, key points, topics and timestamped quotes (the default).",
        prompt=SYSTEM_INSTRUCTION,
        output_schema=response_json_schema(),
    )
