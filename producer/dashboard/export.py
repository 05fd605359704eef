"""The static export (``tubeq site build``): the dashboard's channel and video pages as
HTML files with charts inline and relative links, openable from ``file://``."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from producer.dashboard.links import SiteLinks, site_file
from producer.dashboard.pages import channel_page, list_channels, presigned, video_page
from producer.dashboard.render import STATIC_DIR, render
from shared.errors import TubeqError
from shared.ports import AnalystReader, ArtifactStore


def write_site(
    reader: AnalystReader, artifacts: ArtifactStore, out: Path, link_life: timedelta
) -> int:
    """Every channel's page and every one of its videos' pages; how many pages."""
    channels = list_channels(reader)
    if channels is None:
        raise TubeqError(
            "this result store cannot list its channels; `tubeq site build` needs that list"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (out / "channels").mkdir(parents=True, exist_ok=True)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC_DIR, out / "static", dirs_exist_ok=True)
    top, below = SiteLinks(0), SiteLinks(1)
    _write(
        out / "index.html",
        render("channels.html", links=top, channels=channels, unavailable="", generated_at=stamp),
    )
    written = 1
    link_of = presigned(artifacts, link_life)
    for channel in channels:
        page = channel_page(reader, channel.channel_id)
        if page is None:
            continue
        html = render("channel.html", links=below, p=page, generated_at=stamp)
        _write(out / site_file("channels", channel.channel_id), html)
        written += 1
        for row in page.rows:
            video = video_page(reader, artifacts, row.video_id, link_of=link_of)
            if video is None:
                continue
            html = render(
                "video.html",
                links=below,
                v=video,
                lines=video.transcript or [],
                find="",
                generated_at=stamp,
            )
            _write(out / site_file("videos", row.video_id), html)
            written += 1
    return written


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
