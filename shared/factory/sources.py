"""Where videos come from: transcripts (a folder or YouTube) and channel or playlist
listings (a folder or the YouTube Data API)."""

from __future__ import annotations

from shared.adapter_settings import YouTubeTranscriptSettings
from shared.factory._load import adapter
from shared.ports import ListingSource, TranscriptSource
from shared.settings import Settings

_TRANSCRIPTS = {
    "directory": "shared.adapters.directory_transcripts:DirectoryTranscriptSource",
    "youtube": "shared.adapters.youtube_transcripts:YouTubeTranscriptSource",
}
_LISTINGS = {
    "directory": "shared.adapters.directory_listing:DirectoryListingSource",
    # in producer/, not shared/adapters/: the Worker ships it (and no adapter folder)
    "youtube": "shared.youtube_data_api:YouTubeDataApiListing",
}


def build_transcript_source(settings: Settings) -> TranscriptSource:
    name = settings.transcript_backend
    section = settings.youtube_transcripts if name == "youtube" else settings.directory_transcripts
    source: TranscriptSource = adapter(_TRANSCRIPTS, name).from_settings(section)
    return source


def build_youtube_transcripts(section: YouTubeTranscriptSettings) -> TranscriptSource:
    """The YouTube source on this section, whatever is selected (``tubeq doctor`` checks
    it with capped timeouts)."""
    source: TranscriptSource = adapter(_TRANSCRIPTS, "youtube").from_settings(section)
    return source


def build_listing_source(settings: Settings) -> ListingSource:
    """Channel and playlist listings (``TUBEQ_LISTING_BACKEND``, ``auto`` resolved)."""
    name = settings.listing
    section = settings.youtube_data_api if name == "youtube" else settings.directory_listing
    listing: ListingSource = adapter(_LISTINGS, name).from_settings(section)
    return listing
