from __future__ import annotations

import pytest

from producer.enqueue import parse_refs, read_lines, read_numbered_lines
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


def test_rejected_inputs_carry_their_line_or_index() -> None:
    text = f"# list\n{VID}\nnope\n\nhttps://example.com/x\n"
    numbered = read_numbered_lines(text)
    assert numbered == [(2, VID), (3, "nope"), (5, "https://example.com/x")]
    parsed = parse_refs([ref for _, ref in numbered], [n for n, _ in numbered])
    assert [(r.index, r.line, r.where()) for r in parsed.rejected] == [
        (1, 3, "line 3"),
        (2, 5, "line 5"),
    ]
    from_api = parse_refs(["x", VID, "y"])
    assert [(r.index, r.line, r.where()) for r in from_api.rejected] == [
        (0, None, "input 1"),
        (2, None, "input 3"),
    ]


def test_a_huge_input_is_refused_at_once_and_echoed_short() -> None:
    huge = "https://www.youtube.com/watch?v=" + "a" * 10_000_000
    parsed = parse_refs([huge])
    (bad,) = parsed.rejected
    assert "too long" in bad.reason and "10,000,032 characters" in bad.reason
    assert len(bad.reason) < 400 and len(bad.input) <= 201
