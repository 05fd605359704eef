"""The template-results contract: one suite every ``shared.ports.TemplateResults`` adapter
keeps (the SQLite file, Postgres through psycopg, Supabase over PostgREST).

An adapter's test module subclasses ``TemplateResultsContract`` and provides a ``harness``
fixture returning a ``TemplateResultsHarness``: an empty result store of the adapter's
engine (``results``, the ``ResultBackend`` on the same file or database, which records the
videos a template runs on) and template-result stores built on it from settings by
``shared.factory.build_template_results``; ``rows`` reads the store's own tables and views.

The promises pinned here: a paid reply is kept the moment it is saved and found again by
(video, version), completed or not, and is not a finished result until it is completed; a
redelivered save, before or after completion, changes nothing; a newer reply of the same
version (a forced job) replaces it and is not complete until its own artifacts are; two
templates or two versions on one video are two rows; completing lists the artifacts with
the video's own when the store knows the video; unknown videos and versions are empty
answers, never errors; the result store's own reader (``TemplateResultReader``) sees the
same results; the typed view ``video_chapters`` has one row per chapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Protocol

import pytest

from shared.models import ArtifactRef, Usage
from shared.ports import ResultBackend, TemplateResultReader, TemplateResults
from shared.templates.results import TemplateResult
from tests.support import factories as f

VID = f.video_id(1)
VERSION = "gemini:test-model:p1+tpl:chapters:1:0123456789"
CHAPTERS: dict[str, Any] = {
    "chapters": [
        {"title": "Opening — «bonjour»", "start_s": 0, "gist": "Hello & welcome, 日本語も."},
        {"title": "Rooks", "start_s": 125.5, "gist": "Rooks belong behind passed pawns."},
    ]
}
VTT = ArtifactRef(
    kind="chapters_vtt", key=f"templates/{VID}/chapters.vtt", content_type="text/vtt", size=9
)
MD = ArtifactRef(
    kind="template_chapters_md",
    key=f"templates/{VID}/chapters.md",
    content_type="text/markdown; charset=utf-8",
    size=321,
)


def result(video_id: str = VID, **overrides: Any) -> TemplateResult:
    values: dict[str, Any] = {
        "video_id": video_id,
        "template": "chapters",
        "analysis_version": VERSION,
        "result": CHAPTERS,
        "output_schema": {"type": "object", "required": ["chapters"]},
        "analyzer": "gemini",
        "model": "test-model",
        "usage": Usage(prompt_tokens=1000, output_tokens=200, model_calls=1, cost_usd=0.00125),
        "created_at": f.T0,
    }
    return TemplateResult.model_validate(values | overrides)


class TemplateResultsHarness(Protocol):
    #: the adapter's ``name``
    name: str

    @property
    def results(self) -> ResultBackend:
        """The result store on the same file or database (empty at first)."""
        ...

    def make(self) -> TemplateResults:
        """A new template-result store over the harness's store, from settings."""
        ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a query on the store's own tables and views."""
        ...


class TemplateResultsContract:
    """Subclass as ``Test<Adapter>TemplateResults`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def store(self, harness: TemplateResultsHarness) -> Iterator[TemplateResults]:
        built = harness.make()
        yield built
        built.close()

    def count(self, harness: TemplateResultsHarness) -> int:
        ((n,),) = harness.rows("SELECT count(*) FROM template_results")
        return int(n)

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        assert isinstance(store, TemplateResults)
        assert isinstance(store, TemplateResultReader)
        assert store.name == harness.name
        # and the result store itself reads template results (a declared capability)
        assert isinstance(harness.results, TemplateResultReader)

    def test_unknown_videos_and_versions_are_empty_answers(self, store: TemplateResults) -> None:
        assert store.find_template_result(VID, VERSION) is None
        assert store.template_results(VID) == []
        store.complete_template_result(VID, VERSION, [MD])  # nothing to complete: no row made
        assert store.find_template_result(VID, VERSION) is None
        assert store.template_results(VID) == []

    def test_close_twice_is_harmless(self, harness: TemplateResultsHarness) -> None:
        store = harness.make()
        store.find_template_result(VID, VERSION)
        store.close()
        store.close()

    # ---- a paid reply, kept -------------------------------------------------------------
    def test_a_saved_reply_is_found_but_not_finished(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        paid = result()
        store.save_template_result(paid)
        assert store.find_template_result(VID, VERSION) == paid  # every field, as saved
        assert store.find_template_result(VID, VERSION + "-other") is None
        assert store.find_template_result(f.video_id(2), VERSION) is None
        assert store.template_results(VID) == []  # kept for reuse, not a finished result
        assert self.count(harness) == 1

    def test_a_redelivered_save_adds_nothing(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        paid = result()
        for _ in range(3):
            store.save_template_result(paid)
        assert self.count(harness) == 1
        assert store.find_template_result(VID, VERSION) == paid

    def test_completing_finishes_it_with_its_artifacts(self, store: TemplateResults) -> None:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD, VTT])
        (done,) = store.template_results(VID)
        assert done.completed_at is not None
        assert done.artifacts == (MD, VTT)
        assert (done.result, done.usage, done.model) == (CHAPTERS, result().usage, "test-model")
        found = store.find_template_result(VID, VERSION)
        assert found == done

    def test_completing_again_keeps_one_row_with_the_latest_artifacts(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD])
        store.complete_template_result(VID, VERSION, [MD, VTT])  # redelivered, more written
        (done,) = store.template_results(VID)
        assert done.artifacts == (MD, VTT)
        assert self.count(harness) == 1

    def test_a_redelivered_save_after_completion_does_not_undo_it(
        self, store: TemplateResults
    ) -> None:
        paid = result()
        store.save_template_result(paid)
        store.complete_template_result(VID, VERSION, [MD])
        store.save_template_result(paid)  # the same reply again: a redelivery
        (done,) = store.template_results(VID)
        assert done.artifacts == (MD,) and done.completed_at is not None

    def test_a_newer_reply_of_the_version_replaces_it_unfinished(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD])
        newer = result(created_at=f.T0 + timedelta(minutes=5), result={"chapters": []})
        store.save_template_result(newer)  # a forced job's own paid reply
        assert store.template_results(VID) == []
        found = store.find_template_result(VID, VERSION)
        assert found is not None and found.result == {"chapters": []}
        assert found.completed_at is None
        assert self.count(harness) == 1
        store.complete_template_result(VID, VERSION, [VTT])  # its own artifacts, written
        assert [r.artifacts for r in store.template_results(VID)] == [(VTT,)]

    def test_a_newer_reply_carries_none_of_the_old_artifacts(self, store: TemplateResults) -> None:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD])
        store.save_template_result(result(created_at=f.T0 + timedelta(minutes=5)))
        found = store.find_template_result(VID, VERSION)
        assert found is not None and found.artifacts == ()

    def test_every_template_and_version_is_its_own_row(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        mentions = result(
            template="mentions",
            analysis_version="gemini:test-model:p1+tpl:mentions:1:abcdef0123",
            result={"mentions": []},
        )
        edited = result(analysis_version="gemini:test-model:p1+tpl:chapters:2:fedcba9876")
        for r in (result(), mentions, edited, result(f.video_id(2))):
            store.save_template_result(r)
        assert self.count(harness) == 4
        store.complete_template_result(VID, VERSION, [MD])
        store.complete_template_result(VID, mentions.analysis_version, [])
        assert {r.analysis_version for r in store.template_results(VID)} == {
            VERSION,
            mentions.analysis_version,
        }
        assert store.template_results(f.video_id(2)) == []

    def test_results_are_listed_newest_first(self, store: TemplateResults) -> None:
        versions = [f"v{i}+tpl:chapters:1:0123456789" for i in range(3)]
        for version in versions:
            store.save_template_result(result(analysis_version=version))
        for version in (versions[1], versions[0], versions[2]):  # completed in this order
            store.complete_template_result(VID, version, [])
        listed = store.template_results(VID)
        assert [r.analysis_version for r in listed] == [versions[2], versions[0], versions[1]]
        stamps = [r.completed_at for r in listed]
        assert all(s is not None for s in stamps)

    def test_text_and_numbers_come_back_as_saved(self, store: TemplateResults) -> None:
        odd = result(
            result={
                "chapters": [{"title": "Ça va? 🚀 <b>&amp;</b>", "start_s": 0.125, "gist": "“”"}],
                "nested": {"deep": [1, 2.5, None, True, "ü"]},
            },
            output_schema={"type": "object", "description": "Zoë's — schema"},
            model=None,
            usage=Usage(),
        )
        store.save_template_result(odd)
        assert store.find_template_result(VID, VERSION) == odd

    # ---- beside the result store ------------------------------------------------------
    def test_artifacts_join_the_videos_own_when_the_video_is_known(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        results = harness.results
        results.record_success(f.result(VID))
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD, VTT])
        status = results.get_video(VID)
        assert status is not None
        kinds = {a.kind: a for a in status.artifacts}
        assert kinds["template_chapters_md"] == MD and kinds["chapters_vtt"] == VTT
        assert {a.kind for a in f.artifact_refs(VID)} <= set(kinds)  # the video's own stay
        # and the result store's own reader sees the same results
        assert results.template_results(VID) == store.template_results(VID)

    def test_a_video_the_store_does_not_know_is_fine(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        store.save_template_result(result())
        store.complete_template_result(VID, VERSION, [MD])
        assert [r.artifacts for r in store.template_results(VID)] == [(MD,)]
        assert harness.results.get_video(VID) is None

    def test_the_chapters_view_has_one_row_per_chapter(
        self, harness: TemplateResultsHarness, store: TemplateResults
    ) -> None:
        store.save_template_result(result())
        assert harness.rows("SELECT count(*) FROM video_chapters") == [(0,)]  # not finished
        store.complete_template_result(VID, VERSION, [])
        rows = harness.rows(
            "SELECT chapter, title, start_s, url FROM video_chapters ORDER BY chapter"
        )
        assert [(int(c), t, float(s), u) for c, t, s, u in rows] == [
            (1, "Opening — «bonjour»", 0.0, f"https://www.youtube.com/watch?v={VID}&t=0s"),
            (2, "Rooks", 125.5, f"https://www.youtube.com/watch?v={VID}&t=125s"),
        ]
