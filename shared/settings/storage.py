"""Where tubeq keeps things on this machine: the data folder and logging, which backend each
port uses, and the embedded backends' files and folders."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from shared.adapter_settings import (
    DirectoryTranscriptSettings,
    LocalArtifactSettings,
    SqliteStoreSettings,
)


def _bundled_samples() -> Path:
    """The sample transcripts: in a checkout, or shipped in the wheel as ``tubeq_samples``."""
    repo = Path(__file__).resolve().parents[2] / "samples" / "transcripts"
    if repo.is_dir():
        return repo
    spec = importlib.util.find_spec("tubeq_samples")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "transcripts"
    return repo


BUNDLED_SAMPLES = _bundled_samples()
#: the sample channels' listings, next to the sample transcripts (Data API reply shapes)
BUNDLED_LISTINGS = BUNDLED_SAMPLES.parent / "listings"


class GeneralFields(BaseModel):
    """``TUBEQ_DATA_DIR`` and logging."""

    data_dir: Path = Field(
        Path(".tubeq"), description="Folder for the embedded backends' files (SQLite, artifacts)."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="`json` for machines, `console` for people; `auto` picks by TTY."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level printed."
    )


class BackendFields(BaseModel):
    """``TUBEQ_*_BACKEND``: which adapter each port uses (``shared.factory`` reads them)."""

    queue_backend: Literal["sqlite", "cloudflare"] = Field(
        "sqlite", description="Where jobs wait: a local SQLite file or Cloudflare Queues."
    )
    transcript_backend: Literal["directory", "youtube"] = Field(
        "directory", description="Where transcripts come from: sample files or YouTube."
    )
    analyzer_backend: Literal["extractive", "gemini"] = Field(
        "extractive", description="Who analyses: the offline extractive analyzer or Gemini."
    )
    results_backend: Literal["sqlite", "postgres", "supabase"] = Field(
        "sqlite", description="Where rows go: SQLite, Postgres (psycopg) or Supabase (HTTPS)."
    )
    artifacts_backend: Literal["local", "r2"] = Field(
        "local", description="Where artifacts go: a local folder or Cloudflare R2 (S3 API)."
    )


class EmbeddedFileFields(GeneralFields):
    """The embedded backends' files and folders, each defaulting to one under ``data_dir``."""

    queue_path: Path | None = Field(
        None, description="SQLite queue file (default `<data_dir>/queue.sqlite3`)."
    )
    results_path: Path | None = Field(
        None, description="SQLite results file (default `<data_dir>/results.sqlite3`)."
    )
    artifacts_dir: Path | None = Field(
        None, description="Local artifact folder (default `<data_dir>/artifacts`)."
    )
    journal_dir: Path | None = Field(
        None,
        description="Where a consumer keeps a paid model reply until the result store has it "
        "(default `<data_dir>/journal`).",
    )
    transcripts_dir: Path = Field(
        BUNDLED_SAMPLES, description="Folder the directory transcript source reads."
    )
    templates_dir: Path | None = Field(
        None,
        description="Folder of user analysis templates, one `<name>.toml` each (see "
        'README, "Analysis templates"); unset: only the built-ins (summary, chapters, '
        "mentions).",
    )

    @property
    def queue_file(self) -> Path:
        return self.queue_path or self.data_dir / "queue.sqlite3"

    @property
    def results_file(self) -> Path:
        return self.results_path or self.data_dir / "results.sqlite3"

    @property
    def artifacts_folder(self) -> Path:
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def journal_folder(self) -> Path:
        return self.journal_dir or self.data_dir / "journal"

    @property
    def directory_transcripts(self) -> DirectoryTranscriptSettings:
        return DirectoryTranscriptSettings(directory=self.transcripts_dir)

    @property
    def local_artifacts(self) -> LocalArtifactSettings:
        return LocalArtifactSettings(folder=self.artifacts_folder)

    @property
    def sqlite_store(self) -> SqliteStoreSettings:
        """The SQLite result store's section (its batches, search and templates share it)."""
        return SqliteStoreSettings(file=self.results_file)
