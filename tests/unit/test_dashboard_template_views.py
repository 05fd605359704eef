"""The video page's template parts on their own (``producer.dashboard.template_views``):
any result shown without knowing its schema, seconds fields as links to that second, the
schema's field order whatever order the store kept, and the newest result per template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from producer.dashboard.template_views import (
    MAX_DEPTH,
    Items,
    Record,
    Stamps,
    Table,
    Text,
    label,
    part_of,
    template_views,
)
from shared.templates.model import template_version
from shared.templates.results import TemplateResult

VID = "tq-sample06"
CLAIMS_SCHEMA = {
    "type": "object",
    "required": ["claims"],
    "properties": {
        "claims": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["text", "at_s"],
                "properties": {"text": {"type": "string"}, "at_s": {"type": "number"}},
            },
        }
    },
}


def result(template: str, data: dict[str, Any], *, minutes: int = 0, **kw: Any) -> TemplateResult:
    done = datetime(2026, 1, 2, 3, 4, tzinfo=UTC) + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "video_id": VID,
        "template": template,
        "analysis_version": f"gemini:m:p1+tpl:{template}:1:0123456789",
        "result": data,
        "output_schema": {"type": "object"},
        "analyzer": "gemini",
        "model": "m",
        "completed_at": done,
    }
    return TemplateResult.model_validate(values | kw)


def test_the_template_version_comes_out_of_the_key() -> None:
    assert template_version("extractive-v1+tpl:claims:1.2:abcdef0123") == "1.2"
    assert template_version("gemini:m:p1+tpl:claims:2024:09:abcdef0123") == "2024:09"
    assert template_version("gemini:m:p1") == ""  # the summary's key


def test_a_list_of_records_is_a_table_in_the_schemas_order_with_its_times_as_links() -> None:
    # keys as jsonb keeps them (sorted), the schema says text first: the time still leads
    claims = [{"at_s": 62.9, "text": "Indexes are free."}, {"at_s": 3600, "text": "No."}]
    table = part_of(VID, "claims", claims, CLAIMS_SCHEMA["properties"]["claims"])
    assert isinstance(table, Table)
    assert table.columns == ("At", "Text")
    first_time, first_text = table.rows[0]
    assert isinstance(first_time, Stamps) and isinstance(first_text, Text)
    (at,) = first_time.stamps
    assert (at.at_s, at.clock, at.url) == (
        62,
        "1:02",
        "https://www.youtube.com/watch?v=tq-sample06&t=62s",
    )
    assert first_text.text == "Indexes are free."
    assert table.rows[1][0] == Stamps((part_of(VID, "at_s", 3600).stamps[0],))  # type: ignore[union-attr]


def test_times_listed_per_record_go_last_and_a_missing_field_is_blank() -> None:
    rows = [{"name": "Postgres", "at_s": [1, 2]}, {"name": "ORM", "kind": "other", "at_s": [3]}]
    table = part_of(VID, "mentions", rows)
    assert isinstance(table, Table)
    assert table.columns == ("Name", "Kind", "At")
    assert table.rows[0][1] == Text("")
    times = table.rows[0][2]
    assert isinstance(times, Stamps) and [s.at_s for s in times.stamps] == [1, 2]


def test_values_records_and_what_is_not_a_time() -> None:
    assert part_of(VID, "tags", ["a", "b"]) == Items((Text("a"), Text("b")))
    assert part_of(VID, "tags", []) == Text("none")
    assert part_of(VID, "ok", True) == Text("yes")
    assert part_of(VID, "note", None) == Text("—")
    # a seconds field holding no usable second stays text (never a link to t=-5s)
    assert part_of(VID, "at_s", -5) == Text("-5")
    assert part_of(VID, "start_s", True) == Text("yes")
    assert part_of(VID, "score", 0.5) == Text("0.5")
    record = part_of(VID, "verdict", {"score": 3, "time": 75})
    assert isinstance(record, Record)
    assert [k for k, _ in record.fields] == ["Score", "Time"]
    assert isinstance(record.fields[1][1], Stamps)


def test_nesting_beyond_the_limit_is_shown_as_its_json() -> None:
    deep: Any = "<b>bottom</b>"
    for _ in range(MAX_DEPTH + 3):
        deep = {"x": deep}
    part = part_of(VID, "deep", deep)
    depth = 0
    while isinstance(part, Record):
        part = part.fields[0][1]
        depth += 1
    assert depth == MAX_DEPTH + 1
    assert isinstance(part, Text) and part.text.startswith('{"x": {"x": ')


def test_labels() -> None:
    assert label("start_s") == "Start"
    assert label("key_points") == "Key points"
    assert label("s") == "S"


def test_the_newest_result_of_each_template_the_chapters_apart() -> None:
    chapters_new = result(
        "chapters", {"chapters": [{"title": "A", "start_s": 5, "gist": "g"}]}, minutes=9
    )
    chapters_old = result("chapters", {"chapters": [{"title": "Z", "start_s": 1, "gist": "g"}]})
    claims = result("claims", {"claims": [{"text": "t", "at_s": 1}]}, output_schema=CLAIMS_SCHEMA)
    mentions = result("mentions", {"mentions": []}, minutes=5)
    # newest first, as the stores give them
    chapters, others = template_views([chapters_new, mentions, claims, chapters_old])
    assert chapters is not None and chapters.earlier == 1
    assert [(c.title, c.at.at_s) for c in chapters.chapters] == [("A", 5)]
    assert chapters.version == "1" and chapters.sections == ()
    assert chapters.analysed_at == "2026-01-02 03:13 UTC"
    assert [t.name for t in others] == ["claims", "mentions"]
    assert others[0].sections[0][0] == "Claims" and isinstance(others[0].sections[0][1], Table)
    assert others[1].sections == (("Mentions", Text("none")),)


def test_a_chapters_result_not_shaped_as_the_builtins_is_shown_as_any_other() -> None:
    odd = result("chapters", {"chapters": [{"title": "no start"}], "note": "n"})
    chapters, others = template_views([odd])
    assert chapters is None
    (shown,) = others
    assert shown.name == "chapters" and [k for k, _ in shown.sections] == ["Chapters", "Note"]
