"""The sample videos ``make_samples.py`` writes: the four sample channels, each sample's
title, channel, date, language and what it exercises, and the uploads that have a listing
but no transcript (what a backfill skips). Data only; the text is in ``samples/source``."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    title: str

    @property
    def channel_id(self) -> str:
        # "UC" + 22 url-safe characters, like a real channel id; derived so it never drifts.
        digest = hashlib.sha256(self.title.encode()).digest()
        return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]

    @property
    def handle(self) -> str:
        # "Hearth & Handplane" → "@hearth-handplane"
        return "@" + "-".join(re.findall(r"[a-z0-9]+", self.title.lower()))

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]


HEARTH = Channel("Hearth & Handplane")
SIGNAL = Channel("Signal & Noise")
GELD = Channel("Geld & Geschichte")
WANDER = Channel("Wander & Wallet")

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
}


@dataclass(frozen=True)
class Sample:
    number: int
    title: str
    channel: Channel
    published: str
    language: str
    exercises: str
    source: str | None = None  # file in samples/source; None for failure samples
    is_generated: bool = False
    error: str | None = None
    words_per_s: float = 2.5
    duration_s: int | None = None  # only for failure samples (no text to time)

    @property
    def video_id(self) -> str:
        return f"tq-sample{self.number:02d}"


CATALOGUE: tuple[Sample, ...] = (
    Sample(
        1,
        "One-pot red lentil soup for busy weeknights",
        HEARTH,
        "2026-01-08T17:00:00Z",
        "en",
        "success, short manual English",
        "lentil_soup.txt",
    ),
    Sample(
        2,
        "Sharpening a plane iron without a honing guide",
        HEARTH,
        "2026-01-15T17:00:00Z",
        "en",
        "success, manual English",
        "plane_iron.txt",
    ),
    Sample(
        3,
        "building a walnut end grain cutting board",
        HEARTH,
        "2026-01-22T17:00:00Z",
        "en",
        "auto-generated captions: no punctuation, pseudo-sentences",
        "cutting_board.txt",
        is_generated=True,
    ),
    Sample(
        4,
        "60-second tip: bloom your spices in oil",
        HEARTH,
        "2026-01-29T17:00:00Z",
        "en",
        "shortest sample (about a minute)",
        "spice_tip.txt",
    ),
    Sample(
        5,
        "Spring sky tour: three targets for a small telescope",
        SIGNAL,
        "2026-02-02T19:30:00Z",
        "en",
        "success, manual English",
        "spring_sky.txt",
    ),
    Sample(
        6,
        "Indexes you didn't know you needed (DataConf talk)",
        SIGNAL,
        "2026-02-06T15:00:00Z",
        "en",
        "long manual talk assembled from sections",
        "db_talk.txt",
        words_per_s=2.6,
    ),
    Sample(
        7,
        "live q&a: telescopes, cameras and your questions",
        SIGNAL,
        "2026-02-09T20:00:00Z",
        "en",
        "long (about an hour) auto-generated live stream",
        "live_qa.txt",
        is_generated=True,
        words_per_s=2.7,
    ),
    Sample(
        8,
        "Rook endgames: the complete lecture",
        SIGNAL,
        "2026-02-13T18:00:00Z",
        "en",
        "longest sample (2+ hours), speed of the analyzer",
        "rook_endgames.txt",
        words_per_s=2.4,
    ),
    Sample(
        9,
        "An emergency fund on an irregular income",
        WANDER,
        "2026-02-16T08:00:00Z",
        "en",
        "success, manual English",
        "emergency_fund.txt",
    ),
    Sample(
        10,
        "Haushaltsbuch in zehn Minuten einrichten",
        GELD,
        "2026-02-18T07:00:00Z",
        "de",
        "German, manual",
        "haushaltsbuch.txt",
        words_per_s=2.3,
    ),
    Sample(
        11,
        "Die Hanse: Kaufleute, Koggen und Kontore (Podcast, Folge 12)",
        GELD,
        "2026-02-20T06:00:00Z",
        "de",
        "long German podcast assembled from sections",
        "hanse.txt",
        words_per_s=2.3,
    ),
    Sample(
        12,
        "mit dem zug durch graubünden",
        GELD,
        "2026-02-23T10:00:00Z",
        "de",
        "German auto-generated captions",
        "zugreise.txt",
        is_generated=True,
        words_per_s=2.3,
    ),
    Sample(
        13,
        "Un día en Valparaíso: cerros, ascensores y murales",
        WANDER,
        "2026-02-25T14:00:00Z",
        "es",
        "Spanish, manual",
        "valparaiso.txt",
    ),
    Sample(
        14,
        "Pâte brisée à la main, sans robot",
        WANDER,
        "2026-02-27T11:00:00Z",
        "fr",
        "French, manual",
        "pate_brisee.txt",
        words_per_s=2.6,
    ),
    Sample(
        15,
        "el eclipse explicado en dos minutos",
        SIGNAL,
        "2026-03-01T12:00:00Z",
        "es",
        "Spanish auto-generated captions",
        "eclipse.txt",
        is_generated=True,
    ),
    Sample(
        16,
        "Why is Mars red? #shorts",
        SIGNAL,
        "2026-03-03T16:00:00Z",
        "en",
        "a Short (about a minute)",
        "mars_red.txt",
    ),
    Sample(
        17,
        "Damengambit für Einsteiger",
        GELD,
        "2026-03-05T18:00:00Z",
        "de",
        "German, medium length, assembled",
        "damengambit.txt",
        words_per_s=2.3,
    ),
    Sample(
        18,
        "Oil or varnish? Choosing a finish for furniture",
        HEARTH,
        "2026-03-07T17:00:00Z",
        "en",
        "success, manual English",
        "finish.txt",
    ),
    Sample(
        19,
        "Shop tour 2026 (transcripts disabled)",
        HEARTH,
        "2026-03-09T17:00:00Z",
        "en",
        "permanent failure: transcripts disabled",
        error="transcripts_disabled",
        duration_s=842,
    ),
    Sample(
        20,
        "Members-only workshop stream (video unavailable)",
        SIGNAL,
        "2026-03-10T20:00:00Z",
        "en",
        "permanent failure: video unavailable",
        error="video_unavailable",
        duration_s=3611,
    ),
    Sample(
        21,
        "[SIMULATED OUTAGE] transcript service down: retried, then dead-lettered",
        WANDER,
        "2026-03-11T09:00:00Z",
        "en",
        "simulated persistent outage: retried with backoff, then dead-lettered",
        error="upstream_unavailable",
        duration_s=415,
    ),
    Sample(
        22,
        "index funds explained for beginners",
        WANDER,
        "2026-03-12T08:00:00Z",
        "en",
        "English auto-generated captions",
        "index_funds.txt",
        is_generated=True,
    ),
)


@dataclass(frozen=True)
class ListingOnly:
    """A channel's upload with no sample transcript: it shows a backfill's skips."""

    video_id: str
    channel: Channel
    uploaded: str  # where it sits in the uploads playlist
    title: str
    #: "upcoming" (a premiere: skipped until it has aired), or None: private (listed
    #: without a date, absent from videos.list)
    live: str | None


LISTING_ONLY = (
    ListingOnly(
        "tq-premiere", SIGNAL, "2026-03-13T10:00:00Z", "Premiere: comet hunting at dawn", "upcoming"
    ),
    ListingOnly("tq-private1", WANDER, "2026-02-10T09:00:00Z", "(private video)", None),
)
SAMPLES_PLAYLIST = "PLtubeqSamplesEverySample"
CHANNELS = (HEARTH, SIGNAL, GELD, WANDER)
