"""The video page's analysis templates (issue 13): the newest ``chapters`` result as an
outline (each chapter's start a link to that second), and every other template's newest
result as parts the page can show without knowing its schema: a table for a list of
records, a list for a list of values, a definition list for a record, and every number in a
seconds field (``at_s``, ``start_s``…, as the Markdown report decides) a link to that second.

A result is model output: everything here stays plain text and the page's template escapes
it. Nothing is turned into markup here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shared.artifacts import display_time, watch_url
from shared.templates.model import template_version
from shared.templates.render import is_seconds_field
from shared.templates.results import TemplateResult

CHAPTERS = "chapters"
#: nesting shown as parts; anything deeper is shown as its JSON text (a reply is untrusted)
MAX_DEPTH = 4


@dataclass(frozen=True)
class Stamp:
    at_s: int
    clock: str
    url: str


def stamp(video_id: str, seconds: float) -> Stamp:
    return Stamp(int(seconds), display_time(seconds), watch_url(video_id, seconds))


# ---- the parts of a result (``kind`` says which macro of video.html shows it) ----------


@dataclass(frozen=True)
class Text:
    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class Stamps:
    kind: ClassVar[str] = "stamps"
    stamps: tuple[Stamp, ...]


@dataclass(frozen=True)
class Items:
    kind: ClassVar[str] = "items"
    items: tuple[Part, ...]


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    columns: tuple[str, ...]
    rows: tuple[tuple[Part, ...], ...]


@dataclass(frozen=True)
class Record:
    kind: ClassVar[str] = "record"
    fields: tuple[tuple[str, Part], ...]


Part = Text | Stamps | Items | Table | Record


def label(name: str) -> str:
    """``start_s`` → "Start", ``key_points`` → "Key points"."""
    base = name[:-2] if name.endswith("_s") and len(name) > 2 else name
    return base.replace("_", " ").strip().capitalize() or name


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def ordered(keys: list[str], schema: Any) -> list[str]:
    """``keys`` in the schema's order: its ``required`` list, then ``properties``, then as
    they came. Postgres keeps JSON objects as ``jsonb``, which sorts their keys, while an
    array keeps its order: so the page reads alike on every store."""
    named: list[str] = []
    if isinstance(schema, dict):
        for source in (schema.get("required"), schema.get("properties")):
            if isinstance(source, list | dict):
                named += [k for k in source if isinstance(k, str) and k not in named]
    rank = {k: n for n, k in enumerate(named)}
    return sorted(keys, key=lambda k: rank.get(k, len(rank)))


def _sub(schema: Any, key: str) -> Any:
    """The schema of a field (``properties``) or of a list's items (``items``)."""
    if not isinstance(schema, dict):
        return None
    found = schema.get(key) if key == "items" else (schema.get("properties") or {}).get(key)
    return found if isinstance(found, dict) else None


def part_of(video_id: str, name: str, value: Any, schema: Any = None, depth: int = 0) -> Part:
    """``value`` of the field ``name`` (its JSON Schema ``schema``) as a part of the page."""
    if depth > MAX_DEPTH:
        return Text(json.dumps(value, ensure_ascii=False))
    if is_seconds_field(name):
        if _seconds(value):
            return Stamps((stamp(video_id, value),))
        if isinstance(value, list) and value and all(_seconds(v) for v in value):
            return Stamps(tuple(stamp(video_id, v) for v in value))
    if isinstance(value, dict):
        return Record(
            tuple(
                (label(k), part_of(video_id, k, value[k], _sub(schema, k), depth + 1))
                for k in ordered(list(value), schema)
            )
        )
    if isinstance(value, list):
        if not value:
            return Text("none")
        items = _sub(schema, "items")
        if all(isinstance(v, dict) for v in value):
            return _table(video_id, value, items, depth)
        return Items(tuple(part_of(video_id, name, v, items, depth + 1) for v in value))
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if value is None:
        return Text("—")
    return Text(str(value))


def _table(video_id: str, records: list[dict[str, Any]], schema: Any, depth: int) -> Table:
    keys: list[str] = []
    for record in records:
        keys += [k for k in record if k not in keys]

    # a single time first, as the report puts it ("0:42 · the claim"); a list of times
    # last, after the name it belongs to ("Postgres · other · 2:18 13:38 …")
    def place(key: str) -> int:
        if not is_seconds_field(key):
            return 1
        return 2 if any(isinstance(r.get(key), list) for r in records) else 0

    keys = sorted(ordered(keys, schema), key=place)
    rows = tuple(
        tuple(
            part_of(video_id, k, r[k], _sub(schema, k), depth + 1) if k in r else Text("")
            for k in keys
        )
        for r in records
    )
    return Table(tuple(label(k) for k in keys), rows)


# ---- a template's section --------------------------------------------------------------


@dataclass(frozen=True)
class Chapter:
    at: Stamp
    title: str
    gist: str


@dataclass(frozen=True)
class Download:
    kind: str
    size: int
    content_type: str
    #: the static export's link; the server links to its own route (``links.artifact``)
    url: str = ""


@dataclass(frozen=True)
class TemplateView:
    name: str
    version: str
    analyzer: str
    model: str | None
    analysed_at: str
    cost_usd: float
    #: the other results of this template (older versions, another analyzer): not shown
    earlier: int
    downloads: tuple[Download, ...]
    #: the result's top-level fields, each a heading and its part
    sections: tuple[tuple[str, Part], ...] = ()
    chapters: tuple[Chapter, ...] = field(default=())

    @property
    def offline(self) -> bool:
        return "offline" in self.analyzer  # as the Markdown report says it


def chapters_of(video_id: str, result: dict[str, Any]) -> tuple[Chapter, ...] | None:
    """The chapters of a ``chapters`` result, or None when it is not shaped as the built-in's
    (a user's template of that name, say): it is then shown as any other result."""
    found = result.get("chapters")
    if not isinstance(found, list) or not found:
        return None
    out = []
    for c in found:
        if not isinstance(c, dict) or not _seconds(c.get("start_s")):
            return None
        title, gist = c.get("title"), c.get("gist")
        out.append(
            Chapter(stamp(video_id, c["start_s"]), str(title or "untitled"), str(gist or ""))
        )
    return tuple(out)


def _sections(result: TemplateResult) -> tuple[tuple[str, Part], ...]:
    schema = result.output_schema
    return tuple(
        (label(k), part_of(result.video_id, k, result.result[k], _sub(schema, k)))
        for k in ordered(list(result.result), schema)
    )


def template_view(
    result: TemplateResult, earlier: int, link_of: Callable[[str], str] | None = None
) -> TemplateView:
    vid = result.video_id
    chapters = chapters_of(vid, result.result) if result.template == CHAPTERS else None
    return TemplateView(
        name=result.template,
        version=template_version(result.analysis_version),
        analyzer=result.analyzer,
        model=result.model,
        analysed_at=(result.completed_at or result.created_at).strftime("%Y-%m-%d %H:%M UTC"),
        cost_usd=result.usage.cost_usd,
        earlier=earlier,
        downloads=tuple(
            Download(a.kind, a.size, a.content_type, link_of(a.key) if link_of else "")
            for a in result.artifacts
        ),
        sections=() if chapters is not None else _sections(result),
        chapters=chapters or (),
    )


def template_views(
    results: Sequence[TemplateResult], link_of: Callable[[str], str] | None = None
) -> tuple[TemplateView | None, list[TemplateView]]:
    """(the chapters, every other template), each template's newest result (``results``
    come newest first), the others in name order."""
    newest: dict[str, TemplateResult] = {}
    count: dict[str, int] = {}
    for r in results:
        newest.setdefault(r.template, r)
        count[r.template] = count.get(r.template, 0) + 1
    views = {name: template_view(r, count[name] - 1, link_of) for name, r in sorted(newest.items())}
    chapters = views.get(CHAPTERS)
    if chapters is not None and chapters.chapters:
        del views[CHAPTERS]
        return chapters, list(views.values())
    return None, list(views.values())
