"""The HTTP API (``tubeq serve``, the Worker): keys, address, limits, CORS, the watched
channels its cron polls."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import NoDecode

from shared.settings.comma_lists import CommaList


class ApiFields(BaseModel):
    """``TUBEQ_API_*``, ``TUBEQ_ANALYST_KEYS``, ``TUBEQ_WATCHED_CHANNELS``."""

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys accepted by the HTTP API, comma-separated."
    )
    analyst_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Read-only keys (comma-separated): the dashboard and the API's reads, "
        "never enqueue or redrive (those need a TUBEQ_API_KEYS key).",
    )
    api_host: str = Field("127.0.0.1", description="Address `tubeq serve` binds.")
    api_port: int = Field(8787, ge=1, le=65535, description="Port `tubeq serve` binds.")
    api_max_body_bytes: int = Field(
        1_000_000, ge=1_000, description="Largest request body the API accepts."
    )
    api_cors_origins: CommaList = Field(
        default_factory=list, description="Origins allowed by CORS (none by default)."
    )
    watched_channels: CommaList = Field(
        default_factory=list, description="Channels the schedule polls for new uploads."
    )
