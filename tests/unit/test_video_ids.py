from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.models import VideoJob
from shared.video_ids import parse_video_ref

VID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "ref",
    [
        VID,
        f"  {VID}\n",
        f"https://www.youtube.com/watch?v={VID}",
        f"https://www.youtube.com/watch?feature=share&v={VID}&t=42s&list=PL123",
        f"http://youtube.com/watch?v={VID}",
        f"https://m.youtube.com/watch?v={VID}",
        f"https://music.youtube.com/watch?v={VID}&si=abc",
        f"www.youtube.com/watch?v={VID}",
        f"youtube.com/watch?v={VID}",
        f"https://youtu.be/{VID}",
        f"https://youtu.be/{VID}?t=10&si=xyz",
        f"youtu.be/{VID}",
        f"https://www.youtube.com/shorts/{VID}",
        f"https://youtube.com/shorts/{VID}?feature=share",
        f"https://www.youtube.com/embed/{VID}?start=5",
        f"https://www.youtube-nocookie.com/embed/{VID}",
        f"https://www.youtube.com/live/{VID}?si=abc",
        f"https://www.youtube.com/v/{VID}",
        f"https://www.youtube.com/watch?v={VID}#t=30",
    ],
)
def test_every_common_form_normalises_to_the_id(ref: str) -> None:
    assert parse_video_ref(ref) == VID


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("", "empty input"),
        ("abc", "not a video id"),
        ("dQw4w9WgXcQQ", "not a video id"),  # 12 chars
        ("dQw4w9WgX!Q", "not a video id"),
        ("https://vimeo.com/12345", "not a YouTube URL"),
        ("https://www.youtube.com/@somechannel", "names no video"),
        ("https://www.youtube.com/watch?list=PL123", "names no video"),
        ("https://youtu.be/short", "not 11 valid characters"),
    ],
)
def test_bad_input_says_what_is_wrong(ref: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_video_ref(ref)


def test_job_model_normalises_urls() -> None:
    job = VideoJob(video_id=f"https://youtu.be/{VID}?t=1")
    assert job.video_id == VID
    assert VideoJob.model_validate_json(job.model_dump_json()) == job


@given(st.text(alphabet="ABCabc0189_-", min_size=11, max_size=11))
def test_any_valid_id_round_trips_through_every_url_form(vid: str) -> None:
    for url in (
        vid,
        f"https://www.youtube.com/watch?v={vid}",
        f"https://youtu.be/{vid}",
        f"https://www.youtube.com/shorts/{vid}",
    ):
        assert parse_video_ref(url) == vid
