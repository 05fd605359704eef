"""A template's result as files: a Markdown report for any template, and for ``chapters``
WebVTT chapter markers (the ``chapters`` kind of track players such as video.js and
Plyr read). Keys are a pure function of the video, the template and the version key, so
a retry overwrites the same objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from shared.artifacts import (
    MARKDOWN,
    VTT,
    RenderedArtifact,
    display_time,
    key_safe,
    md_escape,
    vtt_time,
    watch_url,
)
from shared.models import VideoMeta
from shared.templates.model import AnalysisTemplate
from shared.templates.results import TemplateResult

CHAPTERS_VTT: Final = "chapters_vtt"
#: field names whose numbers are seconds into the video (shown as links to that second)
_SECONDS = re.compile(r"(^|_)(s|at|start|time|seconds?)($|_)|_s$")


def is_seconds_field(name: str) -> bool:
    """Whether a result field's numbers are seconds into the video (``at_s``, ``start_s``,
    ``time``…): the report and the dashboard show them as links to that second."""
    return _SECONDS.search(name) is not None


def template_key(result: TemplateResult, ext: str) -> str:
    return (
        f"templates/{result.video_id}/{result.template}/{key_safe(result.analysis_version)}.{ext}"
    )


def iter_template_artifacts(
    template: AnalysisTemplate,
    result: TemplateResult,
    meta: VideoMeta | None,
    duration_s: float,
) -> Iterator[RenderedArtifact]:
    title = meta.title if meta else None
    yield RenderedArtifact(
        template.artifact_kind,
        template_key(result, "md"),
        render_markdown(template, result, meta),
        MARKDOWN,
        title,
    )
    chapters = result.result.get("chapters")
    if template.name == "chapters" and isinstance(chapters, list):
        yield RenderedArtifact(
            CHAPTERS_VTT,
            template_key(result, "vtt"),
            render_chapters_vtt(chapters, duration_s),
            VTT,
            title,
        )


def render_chapters_vtt(chapters: list[dict[str, Any]], duration_s: float) -> bytes:
    """One cue per chapter, from its start to the next one's (the last to the end)."""
    starts = [float(c.get("start_s", 0)) for c in chapters]
    lines = ["WEBVTT", ""]
    for k, chapter in enumerate(chapters):
        start = starts[k]
        end = starts[k + 1] if k + 1 < len(starts) else max(duration_s, start + 1)
        end = max(end, start + 0.001)
        text = " ".join(str(chapter.get("title", f"Chapter {k + 1}")).split())
        # "-->" would end the cue timing line early in a player: never in a cue's text
        lines += [str(k + 1), f"{vtt_time(start)} --> {vtt_time(end)}", text.replace("-->", "→")]
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def render_markdown(
    template: AnalysisTemplate, result: TemplateResult, meta: VideoMeta | None
) -> bytes:
    vid = result.video_id
    heading = md_escape(meta.title) if meta and meta.title else vid
    offline = "offline" in result.analyzer
    analyzer = md_escape(result.analyzer) + (
        " — **offline analyzer**: heuristics over the transcript, no language model"
        if offline
        else ""
    )
    u = result.usage
    version = result.analysis_version.replace("`", "'")
    lines = [
        f"# {md_escape(template.name)}: {heading}",
        "",
        f"- **Video:** [{watch_url(vid)}]({watch_url(vid)})",
        f"- **Template:** {md_escape(template.name)} v{md_escape(template.version)} — "
        f"{md_escape(template.description)}",
        f"- **Analyzer:** {analyzer}",
        f"- **Model:** {md_escape(result.model) if result.model else 'none'}",
        f"- **Analysis version:** `{version}`",
        f"- **Tokens:** {u.prompt_tokens:,} in, {u.output_tokens:,} out "
        f"({u.model_calls} model call(s)); **cost:** ${u.cost_usd:.6f}",
        "",
    ]
    for key, value in result.result.items():
        lines += [f"## {md_escape(key.replace('_', ' ').capitalize())}", ""]
        lines += _block(vid, key, value)
        lines.append("")
    lines.append(f"_Analysed {result.created_at.isoformat(timespec='seconds')}._")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _block(vid: str, name: str, value: Any) -> list[str]:
    if isinstance(value, list):
        if not value:
            return ["_none_"]
        return [f"- {_inline(vid, name, item)}" for item in value]
    return [_inline(vid, name, value)]


def _inline(vid: str, name: str, value: Any) -> str:
    if isinstance(value, dict):
        # a chapter or a mention: its time first, as a link, then its fields
        times = [_inline(vid, k, v) for k, v in value.items() if _SECONDS.search(k)]
        rest = [(k, v) for k, v in value.items() if not _SECONDS.search(k)]
        parts = []
        for n, (key, item) in enumerate(rest):
            text = _inline(vid, key, item)
            # the first text field names the item (a chapter's title, a mention's name)
            parts.append(f"**{text}**" if n == 0 and isinstance(item, str) else text)
        return " ".join([*times, " — ".join(parts)])
    if isinstance(value, list):
        return ", ".join(_inline(vid, name, v) for v in value) or "_none_"
    if isinstance(value, int | float) and not isinstance(value, bool) and _SECONDS.search(name):
        return f"[{display_time(value)}]({watch_url(vid, value)})"
    return md_escape(str(value)) if value is not None else "_none_"
