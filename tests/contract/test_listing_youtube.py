"""The listing contract on the YouTube Data API adapter, against the local Data API stub
(the errors, quota and retries of the API itself: tests/integration/test_backfill.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from shared.classify.data_api import DataApiRetry
from shared.youtube_data_api import YouTubeDataApiListing
from tests.contract.listing_source_contract import ListingContract
from tests.support.data_api_stub import API_KEY, DataApiStub

pytestmark = pytest.mark.services


@dataclass
class YouTubeHarness:
    stub: DataApiStub
    resolves_usernames: bool = True

    def make(self) -> YouTubeDataApiListing:
        return YouTubeDataApiListing(
            SecretStr(API_KEY), base_url=self.stub.url, timeout_s=5, retry=DataApiRetry(base_s=0)
        )


class TestYouTubeDataApiListing(ListingContract):
    @pytest.fixture
    def harness(self) -> Iterator[YouTubeHarness]:
        server = DataApiStub()
        with server:
            yield YouTubeHarness(server)
