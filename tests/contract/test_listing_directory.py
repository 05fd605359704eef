"""The listing contract on the directory adapter (files in the Data API's reply shapes),
plus what only a folder must prove: the shipped sample listings agree with the sample
transcripts, and a broken or hostile folder says what is wrong."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.adapters.directory_listing import DirectoryListingSource
from shared.errors import ConfigError, InvalidInput
from shared.listing import ListingRef
from shared.settings import BUNDLED_LISTINGS, BUNDLED_SAMPLES, Settings
from tests.contract.listing_source_contract import ListingContract
from tests.support.data_api_stub import DataApiStub, export_listing


@dataclass
class DirectoryHarness:
    folder: Path
    stub: DataApiStub = field(default_factory=DataApiStub)
    resolves_usernames: bool = False  # a channel resource carries no username
    made: int = 0

    def make(self) -> DirectoryListingSource:
        self.made += 1
        return DirectoryListingSource(export_listing(self.stub, self.folder / str(self.made)))


class TestDirectoryListing(ListingContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[DirectoryHarness]:
        harness = DirectoryHarness(tmp_path)
        yield harness
        harness.stub.stop()  # never started: this only closes its socket


# ---- the bundled samples ------------------------------------------------------------------


def _samples() -> dict[str, dict[str, object]]:
    out = {}
    for path in sorted(BUNDLED_SAMPLES.glob("*.json")):
        video = json.loads(path.read_text(encoding="utf-8"))["video"]
        out[video["video_id"]] = video
    return out


async def _uploads(listing: DirectoryListingSource, handle: str) -> list[str]:
    target = await listing.resolve(ListingRef("handle", handle))
    ids: list[str] = []
    token = None
    while True:
        page = await listing.playlist_page(target.playlist_id, token)
        ids.extend(e.video_id for e in page.entries)
        if (token := page.next_token) is None:
            return ids


def test_sample_listings_match_the_sample_transcripts() -> None:
    listing = DirectoryListingSource.from_settings(
        Settings(listing_backend="directory").directory_listing
    )
    samples = _samples()
    handles = [
        json.loads(p.read_text())["items"][0]["snippet"]["customUrl"]
        for p in sorted((BUNDLED_LISTINGS / "channels").glob("*.json"))
    ]
    listed = [v for h in handles for v in asyncio.run(_uploads(listing, h))]
    details = asyncio.run(listing.video_details(listed))
    # every sample is listed once, on its own channel; extra entries are private or upcoming
    assert set(samples) <= set(details) and len(listed) == len(set(listed))
    for video_id, video in samples.items():
        meta = details[video_id].meta
        assert meta.title == video["title"] and meta.channel_id == video["channel_id"]
        assert meta.channel_title == video["channel_title"]
        assert meta.duration_s == video["duration_s"]
        assert meta.published_at is not None
        assert meta.published_at.isoformat().replace("+00:00", "Z") == video["published_at"]
        assert not details[video_id].is_live_or_upcoming
    extra = set(details) - set(samples)
    assert extra and all(details[v].is_live_or_upcoming for v in extra)
    assert set(listed) - set(details), "no private entry to show 'private or deleted'"


def test_missing_folder_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(listing_backend="directory", listings_dir=tmp_path / "nope")
    with pytest.raises(ConfigError, match="TUBEQ_LISTINGS_DIR"):
        DirectoryListingSource.from_settings(settings.directory_listing)


def test_broken_file_says_which_and_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "channels").mkdir()
    (tmp_path / "channels" / "UCabcdefghijklmnopqrstuv.json").write_text("{not json")
    listing = DirectoryListingSource(tmp_path)
    with pytest.raises(ConfigError, match=r"UCabcdefghijklmnopqrstuv\.json.*make_samples"):
        asyncio.run(listing.resolve(ListingRef("channel_id", "UCabcdefghijklmnopqrstuv")))


def test_ids_never_leave_the_folder(tmp_path: Path) -> None:
    (tmp_path / "channels").mkdir()
    (tmp_path / "secret.json").write_text('{"items": [{"id": "x"}]}')
    listing = DirectoryListingSource(tmp_path / "channels")
    with pytest.raises(InvalidInput):
        asyncio.run(listing.resolve(ListingRef("playlist", "../secret")))
    assert asyncio.run(listing.video_details(["../../secret"])) == {}
