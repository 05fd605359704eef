from __future__ import annotations

import pytest

from producer.enqueue import parse_refs, read_lines
from shared.errors import InvalidInput

VID = "dQw4w9WgXcQ"


def test_read_lines_skips_blanks_and_comments_but_keeps_fragments() -> None:
    text = f"# my list\n\n{VID}  # rick\nhttps://youtu.be/{VID}#t=3\n   \n"
    assert read_lines(text) == [VID, f"https://youtu.be/{VID}#t=3"]


def test_parse_refs_dedupes_and_reports_bad_ones() -> None:
    parsed = parse_refs([VID, f"https://youtu.be/{VID}", "nope", "aaaaaaaaaaa"])
    assert parsed.video_ids == [VID, "aaaaaaaaaaa"]
    assert [r.input for r in parsed.rejected] == ["nope"]
    assert "11 characters" in parsed.rejected[0].reason


def test_enqueue_refs_refuses_when_nothing_is_valid() -> None:
    from producer.enqueue import enqueue_refs

    class NoQueue:
        def send(self, *_: object, **__: object) -> int:
            raise AssertionError("must not send")

    with pytest.raises(InvalidInput, match="no valid video id"):
        enqueue_refs(NoQueue(), None, ["bad", "also bad"], source="t")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="nothing to enqueue"):
        enqueue_refs(NoQueue(), None, [], source="t")  # type: ignore[arg-type]
