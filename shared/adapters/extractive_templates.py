"""Templates without a model: the extractive analyzer's heuristics (``shared.templates.
offline``) for the built-in ``chapters`` and ``mentions``, and any other template's schema
filled from the transcript's most central sentences. Free, deterministic, labelled as
heuristics in the result and its report."""

from __future__ import annotations

from typing import Any, Self

from shared.adapter_settings import ExtractiveSettings
from shared.errors import EmptyTranscript, PermanentError
from shared.extractive.sentences import split_units
from shared.models import Transcript, Usage, VideoMeta
from shared.templates import offline
from shared.templates.model import SUMMARY, AnalysisTemplate
from shared.templates.results import TemplateResult
from shared.templates.schema_check import reply_problems

#: the extractive analyzer's own version key (``extractive_analyzer.ANALYSIS_VERSION``; an
#: adapter imports no other adapter, and a test holds the two equal)
ANALYSIS_VERSION = "extractive-v1"

#: what made each built-in's result, as its report says
LABELS = {
    "chapters": "extractive (offline): topic shifts",
    "mentions": "extractive (offline): capitalised-name heuristics",
}
FILLED = "extractive (offline): schema filled from central sentences"


class OfflineTemplateUnfillable(PermanentError):
    """The offline analyzer cannot make a result that matches this template's schema."""

    code = "offline_template_unfillable"


class ExtractiveTemplateAnalyzer:
    """``shared.ports.TemplateAnalyzer`` without a model."""

    name = "extractive"

    @property
    def analysis_version(self) -> str:
        return ANALYSIS_VERSION

    @classmethod
    def from_settings(cls, section: ExtractiveSettings) -> Self:
        return cls()

    def close(self) -> None:
        """Nothing to release."""

    def analyze_template(
        self, template: AnalysisTemplate, transcript: Transcript, meta: VideoMeta | None
    ) -> TemplateResult:
        if template.name == SUMMARY:
            raise ValueError("the summary template runs through the summary pipeline")
        stop = offline.stopwords_for(transcript.language)
        units = split_units(transcript, stop)
        if not units:
            raise EmptyTranscript(
                f"video {transcript.video_id}: the transcript has no text to analyse"
            )
        result: Any
        if template.builtin and template.name == "chapters":
            result = offline.chapters(transcript, units)
        elif template.builtin and template.name == "mentions":
            result = offline.mentions(transcript, stop)
        else:
            result = offline.fill_schema(template.output_schema, units)
        problems = reply_problems(template.output_schema, result)
        if problems or not isinstance(result, dict):
            raise OfflineTemplateUnfillable(
                f"the offline analyzer cannot fill template {template.name!r}'s schema "
                f"({'; '.join(problems) or 'not an object'}): run it with "
                "TUBEQ_ANALYZER_BACKEND=gemini, or loosen the schema"
            )
        return TemplateResult(
            video_id=transcript.video_id,
            template=template.name,
            analysis_version=template.version_key(self.analysis_version),
            result=result,
            output_schema=template.output_schema,
            analyzer=LABELS.get(template.name, FILLED) if template.builtin else FILLED,
            model=None,
            usage=Usage(),
        )
