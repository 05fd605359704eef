"""YouTube: where transcripts come from (captions, proxies) and where channel and playlist
listings come from (the Data API, or a folder of its replies)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from shared.adapter_settings import (
    DirectoryListingSettings,
    YouTubeDataApiSettings,
    YouTubeTranscriptSettings,
)
from shared.settings.comma_lists import CommaList
from shared.settings.storage import BUNDLED_LISTINGS


class YouTubeTranscriptFields(BaseModel):
    """``TUBEQ_YOUTUBE_*`` (transcripts), ``TUBEQ_WEBSHARE_PROXY_*``, ``TUBEQ_HTTP(S)_PROXY``."""

    youtube_languages: CommaList = Field(
        default_factory=lambda: ["en"],
        description="Transcript languages in order of preference, comma-separated.",
    )
    youtube_translate_to: str | None = Field(
        None, description="Translate transcripts to this language code (YouTube's MT)."
    )
    youtube_proxy: Literal["none", "webshare", "generic"] = Field(
        "none", description="Proxy for YouTube requests; cloud IPs are usually blocked."
    )
    webshare_proxy_username: str | None = Field(None, description="Webshare proxy username.")
    webshare_proxy_password: SecretStr | None = Field(None, description="Webshare password.")
    webshare_proxy_locations: CommaList = Field(
        default_factory=list, description="Webshare country codes to use, e.g. `us,de`."
    )
    http_proxy: SecretStr | None = Field(
        None, description="Generic proxy URL for http (may carry credentials)."
    )
    https_proxy: SecretStr | None = Field(
        None, description="Generic proxy URL for https (may carry credentials)."
    )
    youtube_base_url: str = Field(
        "https://www.youtube.com", description="YouTube's origin; point at a stub for tests."
    )
    youtube_timeout_s: float = Field(30.0, gt=0, description="Timeout per YouTube request.")
    youtube_prefer_manual: bool = Field(
        True,
        description="A manual transcript in any listed language beats an auto-generated one.",
    )

    @property
    def youtube_transcripts(self) -> YouTubeTranscriptSettings:
        return YouTubeTranscriptSettings(
            languages=tuple(self.youtube_languages),
            translate_to=self.youtube_translate_to,
            prefer_manual=self.youtube_prefer_manual,
            proxy=self.youtube_proxy,
            webshare_username=self.webshare_proxy_username,
            webshare_password=self.webshare_proxy_password,
            webshare_locations=tuple(self.webshare_proxy_locations),
            http_proxy=self.http_proxy,
            https_proxy=self.https_proxy,
            base_url=self.youtube_base_url,
            timeout_s=self.youtube_timeout_s,
        )


class YouTubeListingFields(BaseModel):
    """``TUBEQ_YOUTUBE_API_*`` (Data API, for backfills), ``TUBEQ_LISTING_BACKEND``,
    ``TUBEQ_LISTINGS_DIR``."""

    youtube_api_key: SecretStr | None = Field(
        None, description="YouTube Data API v3 key, for channel and playlist backfills."
    )
    youtube_api_url: str = Field(
        "https://www.googleapis.com/youtube/v3", description="Data API base URL."
    )
    youtube_api_timeout_s: float = Field(
        20.0, gt=0, description="Timeout per YouTube Data API request."
    )
    youtube_api_retry_wait_s: float = Field(
        1.0, ge=0, description="First wait before retrying a failed Data API call (doubles)."
    )
    listing_backend: Literal["auto", "directory", "youtube"] = Field(
        "auto",
        description="Where backfills and the cron list channels: `directory` (JSON files in "
        "the Data API's shapes), `youtube` (the Data API); `auto` = `youtube` when "
        "`TUBEQ_YOUTUBE_API_KEY` is set.",
    )
    listings_dir: Path | None = Field(
        None, description="Folder the directory listing reads (default: the bundled samples')."
    )

    @property
    def listings_folder(self) -> Path:
        return self.listings_dir or BUNDLED_LISTINGS

    @property
    def listing(self) -> Literal["directory", "youtube"]:
        """The listing backend in use: ``auto`` resolved (a Data API key means real listings)."""
        if self.listing_backend != "auto":
            return self.listing_backend
        key = self.youtube_api_key
        return "youtube" if key is not None and key.get_secret_value().strip() else "directory"

    @property
    def directory_listing(self) -> DirectoryListingSettings:
        return DirectoryListingSettings(folder=self.listings_folder)

    @property
    def youtube_data_api(self) -> YouTubeDataApiSettings:
        return YouTubeDataApiSettings(
            api_key=self.youtube_api_key,
            base_url=self.youtube_api_url,
            timeout_s=self.youtube_api_timeout_s,
            retry_wait_s=self.youtube_api_retry_wait_s,
        )
