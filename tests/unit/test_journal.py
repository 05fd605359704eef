"""The paid-reply journal (``consumer.journal``): one durable file per (video, version)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from consumer.journal import FileReplyJournal
from shared.models import BilledCall, CallOutcome
from tests.support import factories as f

V1 = "gemini:gemini-3.1-flash-lite:p1"


def test_keep_find_forget(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path / "journal")
    paid = f.analysis(f.video_id(1), version=V1)
    assert journal.find(paid.video_id, V1) is None
    journal.keep(paid)
    assert journal.find(paid.video_id, V1) == paid
    assert journal.find(paid.video_id, "gemini:other:p2") is None
    assert journal.find(f.video_id(2), V1) is None
    assert [p.name for p in journal.pending()] == [journal.path(paid.video_id, V1).name]
    # a reopened journal (a restarted consumer) still has it
    assert FileReplyJournal(tmp_path / "journal").find(paid.video_id, V1) == paid
    journal.forget(paid.video_id, V1)
    journal.forget(paid.video_id, V1)  # forgetting twice is harmless
    assert journal.find(paid.video_id, V1) is None
    assert journal.pending() == []


def test_keep_replaces_whole_files_and_leaves_no_temporary_ones(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    first = f.analysis(f.video_id(1), version=V1, summary="The first reply.")
    second = f.analysis(f.video_id(1), version=V1, summary="A forced re-run's reply.")
    journal.keep(first)
    journal.keep(second)
    assert journal.find(first.video_id, V1) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == [journal.path(first.video_id, V1).name]


def test_the_file_name_is_safe_for_any_version(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    odd = "gemini:models/../../x:p 1"
    path = journal.path(f.video_id(1), odd)
    assert path.parent == tmp_path and "/" not in path.name and ":" not in path.name
    assert path != journal.path(f.video_id(1), V1)


def test_an_unreadable_entry_counts_as_none(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    path = journal.path(f.video_id(1), V1)
    path.write_bytes(b'{"video_id": "torn')
    assert journal.find(f.video_id(1), V1) is None


def test_a_failing_write_is_held_leaves_no_debris_and_is_written_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = FileReplyJournal(tmp_path)
    old = f.analysis(f.video_id(1), version=V1, summary="Kept before.")
    journal.keep(old)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        journal.keep(f.analysis(f.video_id(1), version=V1, summary="Lost."))
    monkeypatch.undo()
    # the new reply is not lost to this process: a redelivery here still reuses it
    remembered = journal.find(old.video_id, V1)
    assert remembered is not None and remembered.summary == "Lost."
    # the failed write left no debris; with room again, the look above wrote the new
    # reply in place of the old one (a restart finds it too)
    assert [p.name for p in tmp_path.iterdir()] == [journal.path(old.video_id, V1).name]
    again = FileReplyJournal(tmp_path).find(old.video_id, V1)
    assert again is not None and again.summary == "Lost."


def test_entries_nobody_came_back_for_are_pruned_on_open(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    stale, fresh = f.analysis(f.video_id(1), version=V1), f.analysis(f.video_id(2), version=V1)
    journal.keep(stale)
    journal.keep(fresh)
    month_ago = time.time() - 30 * 86400
    os.utime(journal.path(stale.video_id, V1), (month_ago, month_ago))
    reopened = FileReplyJournal(tmp_path, max_age_s=7 * 86400)
    assert reopened.find(stale.video_id, V1) is None
    assert reopened.find(fresh.video_id, V1) == fresh


def _billed(video_id: str, step: str) -> BilledCall:
    return BilledCall(
        call_id=f"{video_id}:{V1}:{step}",
        video_id=video_id,
        analysis_version=V1,
        model="gemini-3.1-flash-lite",
        usage=f.usage(),
        outcome=CallOutcome.OK,
    )


def test_the_billed_calls_are_kept_with_the_reply(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    paid = f.analysis(f.video_id(1), version=V1)
    calls = [_billed(paid.video_id, "analysis"), _billed(paid.video_id, "repair")]
    journal.keep(paid, calls)
    reopened = FileReplyJournal(tmp_path)  # a restarted consumer
    assert reopened.find(paid.video_id, V1) == paid
    assert reopened.calls(paid.video_id, V1) == calls
    assert reopened.calls(f.video_id(2), V1) == []
    journal.forget(paid.video_id, V1)
    assert journal.calls(paid.video_id, V1) == []


def test_an_entry_from_before_calls_were_kept_still_gives_its_reply(tmp_path: Path) -> None:
    journal = FileReplyJournal(tmp_path)
    paid = f.analysis(f.video_id(1), version=V1)
    journal.path(paid.video_id, V1).write_text(paid.model_dump_json())  # the old format
    assert journal.find(paid.video_id, V1) == paid
    assert journal.calls(paid.video_id, V1) == []
