"""The real youtube-transcript-api, routed by our session adapter to a local YouTube stub."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared import errors
from shared.adapters.youtube_transcripts import YouTubeTranscriptSource
from shared.classify import classify
from shared.settings import Settings
from tests.support.youtube_stub import RefusingProxy, StubVideo, Track, YouTubeStub

pytestmark = pytest.mark.services

EN = Track("en", "English", [(0.0, 2.5, "Hello and welcome."), (2.5, 3.0, "Today: queues.")])
EN_ASR = Track(
    "en",
    "English (auto-generated)",
    [(0.0, 1.0, "hello and welcome"), (1.0, 1.5, "auto")],
    generated=True,
)
DE = Track("de", "Deutsch", [(0.5, 2.0, "Hallo und willkommen.")])
JA = Track(
    "ja",
    "日本語",
    [
        (0.0, 1.2, "こんにちは、世界！"),
        (1.2, 2.0, "キューの話 🎉🚀"),
        (3.2, 1.0, "Tom & Jerry <3 \"quotes\" 'single'"),
    ],
)


@pytest.fixture()
def stub() -> Iterator[YouTubeStub]:
    server = YouTubeStub(require_consent=True)
    with server:
        yield server


_OPEN: list[YouTubeTranscriptSource] = []


@pytest.fixture(autouse=True)
def _close_sources() -> Iterator[None]:
    # unclosed sessions would surface as ResourceWarnings (errors here) in a later test
    yield
    while _OPEN:
        _OPEN.pop().close()


def source(stub: YouTubeStub, **overrides: object) -> YouTubeTranscriptSource:
    values: dict[str, object] = {
        "transcript_backend": "youtube",
        "youtube_base_url": stub.url,
        "youtube_timeout_s": 2.0,
        "youtube_languages": "en",
    }
    values.update(overrides)
    built = YouTubeTranscriptSource.from_settings(Settings.load(**values).youtube_transcripts)
    _OPEN.append(built)
    return built


def test_fetch_keeps_timed_segments_and_goes_through_consent(stub: YouTubeStub) -> None:
    stub.add("aaaaaaaaaaa", StubVideo(tracks=[EN, EN_ASR]))
    t = source(stub).fetch("aaaaaaaaaaa")
    assert t.source == "youtube"
    assert (t.language, t.language_name, t.is_generated) == ("en", "English", False)
    assert [(s.start, s.duration, s.text) for s in t.segments] == EN.segments
    assert t.translated_from is None
    # consent page first, then the watch page again with the cookie, player, captions
    assert stub.count("GET", "/watch") == 2
    assert stub.count("POST", "/youtubei/v1/player") == 1
    assert stub.count("GET", "/api/timedtext") == 1


def test_prefer_manual_picks_a_manual_track_in_a_later_language(stub: YouTubeStub) -> None:
    en_asr_only = Track("en", "English (auto-generated)", [(0, 1, "auto english")], generated=True)
    stub.add("bbbbbbbbbbb", StubVideo(tracks=[en_asr_only, DE]))
    manual = source(stub, youtube_languages="en,de").fetch("bbbbbbbbbbb")
    assert (manual.language, manual.is_generated) == ("de", False)
    assert manual.text == "Hallo und willkommen."

    by_language = source(stub, youtube_languages="en,de", youtube_prefer_manual=False)
    generated = by_language.fetch("bbbbbbbbbbb")
    assert (generated.language, generated.is_generated) == ("en", True)
    assert generated.text == "auto english"


def test_a_manual_regional_variant_beats_an_auto_generated_exact_match(
    stub: YouTubeStub,
) -> None:
    # the issue: languages=en, prefer manual, and the video has manual en-GB + auto en
    en_gb = Track("en-GB", "English (United Kingdom)", [(0.0, 1.0, "Colour and flavour.")])
    stub.add("rrrrrrrrrrr", StubVideo(tracks=[EN_ASR, en_gb]))
    t = source(stub, youtube_languages="en", youtube_prefer_manual=True).fetch("rrrrrrrrrrr")
    assert (t.language, t.is_generated, t.text) == ("en-GB", False, "Colour and flavour.")
    # without the manual preference the exact language still comes first
    t = source(stub, youtube_languages="en", youtube_prefer_manual=False).fetch("rrrrrrrrrrr")
    assert (t.language, t.is_generated) == ("en", True)


def test_an_exact_manual_match_beats_a_regional_one_and_variants_are_normalised(
    stub: YouTubeStub,
) -> None:
    en_us = Track("en-US", "English (United States)", [(0.0, 1.0, "Color.")])
    en_gb = Track("en_GB", "English (UK)", [(0.0, 1.0, "Colour.")])
    stub.add("sssssssssss", StubVideo(tracks=[en_us, EN, EN_ASR]))
    assert source(stub).fetch("sssssssssss").language == "en"
    # a regional preference takes its variant spelled either way, and not another region
    stub.add("ttttttttttt", StubVideo(tracks=[en_us, en_gb, EN_ASR]))
    assert source(stub, youtube_languages="en-gb").fetch("ttttttttttt").language == "en_GB"
    assert source(stub).fetch("ttttttttttt").language == "en-US"  # the listing's first
    # a variant of the first language beats an exact match of the second
    stub.add("uuuuuuuuuuu", StubVideo(tracks=[DE, en_gb]))
    assert source(stub, youtube_languages="en,de").fetch("uuuuuuuuuuu").language == "en_GB"


def test_a_regional_variant_of_the_translation_target_is_not_translated(
    stub: YouTubeStub,
) -> None:
    en_gb = Track("en-GB", "English (United Kingdom)", [(0.0, 1.0, "Colour.")])
    stub.add("vvvvvvvvvvv", StubVideo(tracks=[en_gb]))
    t = source(stub, youtube_translate_to="en").fetch("vvvvvvvvvvv")
    assert (t.language, t.translated_from, t.text) == ("en-GB", None, "Colour.")


def test_language_preference_order_is_respected(stub: YouTubeStub) -> None:
    stub.add("ccccccccccc", StubVideo(tracks=[EN, DE]))
    assert source(stub, youtube_languages="de,en").fetch("ccccccccccc").language == "de"
    assert source(stub, youtube_languages="fr,en").fetch("ccccccccccc").language == "en"


def test_translation_to_a_target_language(stub: YouTubeStub) -> None:
    stub.add("ddddddddddd", StubVideo(tracks=[DE]))
    # German is not among the wanted languages: any translatable track is translated
    t = source(stub, youtube_languages="en", youtube_translate_to="en").fetch("ddddddddddd")
    assert (t.language, t.translated_from, t.is_generated) == ("en", "de", False)
    assert t.language_name == "English"
    assert t.segments[0].text == "[en] Hallo und willkommen."
    assert t.segments[0].start == 0.5


def test_no_translation_when_already_in_target_language(stub: YouTubeStub) -> None:
    stub.add("eeeeeeeeeee", StubVideo(tracks=[EN]))
    t = source(stub, youtube_translate_to="en").fetch("eeeeeeeeeee")
    assert t.translated_from is None
    assert t.segments[0].text == "Hello and welcome."


def test_unicode_emoji_and_html_entities_survive(stub: YouTubeStub) -> None:
    stub.add("fffffffffff", StubVideo(tracks=[JA]))
    t = source(stub, youtube_languages="ja").fetch("fffffffffff")
    assert [s.text for s in t.segments] == [seg[2] for seg in JA.segments]
    assert "🎉🚀" in t.text and "Tom & Jerry <3" in t.text


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("disabled", errors.TranscriptsDisabled),
        ("unavailable", errors.VideoUnavailable),
        ("age_restricted", errors.AgeRestricted),
        ("unplayable", errors.VideoUnplayable),
        ("bot", errors.RequestBlocked),
        ("recaptcha", errors.RequestBlocked),
        ("429", errors.RequestBlocked),
        ("500", errors.UpstreamUnavailable),
    ],
)
def test_failures_are_classified(
    stub: YouTubeStub, state: str, expected: type[errors.TubeqError]
) -> None:
    stub.add("ggggggggggg", StubVideo(tracks=[EN], state=state))
    with pytest.raises(expected) as info:
        source(stub).fetch("ggggggggggg")
    assert "ggggggggggg" in info.value.message
    if expected is errors.RequestBlocked:
        assert "TUBEQ_YOUTUBE_PROXY" in info.value.message
        assert isinstance(info.value, errors.TransientError)
        assert info.value.min_delay_s >= 600
    elif expected is errors.UpstreamUnavailable:
        assert isinstance(info.value, errors.TransientError)
    else:
        assert isinstance(info.value, errors.PermanentError)


def test_no_transcript_in_wanted_languages_is_permanent_and_not_a_fallback_trigger(
    stub: YouTubeStub,
) -> None:
    stub.add("hhhhhhhhhhh", StubVideo(tracks=[DE, EN_ASR]))
    with pytest.raises(errors.NoTranscriptInLanguages) as info:
        source(stub, youtube_languages="fr,ja").fetch("hhhhhhhhhhh")
    assert isinstance(info.value, errors.PermanentError)
    # the pipeline's video fallback catches these two: a transcript in another language
    # must not buy a ~20x more expensive video analysis
    assert not isinstance(info.value, (errors.NoTranscriptFound, errors.TranscriptsDisabled))
    message = info.value.message
    assert "fr, ja" in message
    assert "de (manual)" in message and "en (auto-generated)" in message
    assert "TUBEQ_YOUTUBE_LANGUAGES" in message and "TUBEQ_YOUTUBE_TRANSLATE_TO" in message


def test_untranslatable_track_is_not_a_missing_transcript(stub: YouTubeStub) -> None:
    fixed = Track("de", "Deutsch", [(0, 1, "nur deutsch")], translatable=False)
    stub.add("iiiiiiiiiii", StubVideo(tracks=[fixed]))
    with pytest.raises(errors.NoTranscriptInLanguages) as info:
        source(stub, youtube_languages="de", youtube_translate_to="en").fetch("iiiiiiiiiii")
    assert not isinstance(info.value, errors.NoTranscriptFound)
    assert "TUBEQ_YOUTUBE_TRANSLATE_TO" in info.value.message
    assert "available: de (manual)" in info.value.message


def test_no_translatable_track_in_another_language_is_not_a_missing_transcript(
    stub: YouTubeStub,
) -> None:
    fixed = Track("de", "Deutsch", [(0, 1, "nur deutsch")], translatable=False)
    stub.add("iiiiiiiiiij", StubVideo(tracks=[fixed]))
    with pytest.raises(errors.NoTranscriptInLanguages, match="de \\(manual\\)"):
        source(stub, youtube_languages="en", youtube_translate_to="en").fetch("iiiiiiiiiij")


def test_a_video_without_any_caption_track_is_no_transcript(stub: YouTubeStub) -> None:
    stub.add("nnnnnnnnnnn", StubVideo(tracks=[]))
    with pytest.raises(errors.NoTranscriptFound, match="no caption tracks") as info:
        source(stub).fetch("nnnnnnnnnnn")
    assert not isinstance(info.value, errors.NoTranscriptInLanguages)


def test_every_request_has_a_timeout(stub: YouTubeStub) -> None:
    stub.add("jjjjjjjjjjj", StubVideo(tracks=[EN], state="slow", delay_s=1.5))
    with pytest.raises(errors.UpstreamUnavailable, match="network error"):
        source(stub, youtube_timeout_s=0.3).fetch("jjjjjjjjjjj")


def test_threads_fetch_in_parallel_not_one_at_a_time(stub: YouTubeStub) -> None:
    ids = [f"slowvid{n:04d}" for n in range(4)]
    for vid in ids:
        stub.add(vid, StubVideo(tracks=[EN], state="slow", delay_s=1.0))
    shared_source = source(stub, youtube_timeout_s=5.0)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(shared_source.fetch, ids))
    elapsed = time.monotonic() - started
    assert [r.video_id for r in results] == ids
    # one lock for the process would take 4 s; one (API, session) pair per thread ~1 s
    assert elapsed < 3.0, f"4 slow fetches on 4 threads took {elapsed:.1f} s"
    assert 2 <= len(shared_source._sessions) <= 4  # one per pool thread, built lazily
    shared_source.close()
    assert shared_source._sessions == []


def test_one_source_is_safe_across_threads(stub: YouTubeStub) -> None:
    ids = [f"thread{n:05d}" for n in range(12)]
    for n, vid in enumerate(ids):
        stub.add(vid, StubVideo(tracks=[Track("en", "English", [(0, 1, f"video {n}")])]))
    shared_source = source(stub)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(shared_source.fetch, ids))
    assert [r.text for r in results] == [f"video {n}" for n in range(12)]
    assert [r.video_id for r in results] == ids


def test_proxy_password_never_appears_in_errors() -> None:
    # A generic proxy that refuses connections: the error must not quote its credentials.
    from tests.support.services import free_port

    port = free_port()
    src = YouTubeTranscriptSource.from_settings(
        Settings.load(
            transcript_backend="youtube",
            youtube_proxy="generic",
            https_proxy=f"http://user:hunter2secret@127.0.0.1:{port}",
            youtube_timeout_s=1.0,
        ).youtube_transcripts
    )
    _OPEN.append(src)
    with pytest.raises(errors.UpstreamUnavailable) as info:
        src.fetch("kkkkkkkkkkk")
    assert "hunter2secret" not in info.value.message


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_proxy_refusing_the_password_is_a_config_error_not_a_retry(scheme: str) -> None:
    # https: the proxy refuses the CONNECT tunnel (requests' ProxyError); http: it answers
    # the forwarded request itself with a 407 response. Both stay on 127.0.0.1.
    proxy = RefusingProxy()
    with proxy:
        url = f"http://user:wr0ngpass@127.0.0.1:{proxy.port}"
        overrides: dict[str, object] = {
            "transcript_backend": "youtube",
            "youtube_proxy": "generic",
            f"{scheme}_proxy": url,
            "youtube_timeout_s": 2.0,
        }
        if scheme == "http":  # an http origin, so the request is forwarded, not tunnelled
            overrides["youtube_base_url"] = "http://127.0.0.1:9"
            overrides["https_proxy"] = url
        src = YouTubeTranscriptSource.from_settings(Settings.load(**overrides).youtube_transcripts)
        _OPEN.append(src)
        with pytest.raises(errors.ConfigError) as info:
            src.fetch("kkkkkkkkkkk")
    assert proxy.requests, "the request must have reached the proxy"
    assert not isinstance(info.value, errors.TransientError)
    message = info.value.message
    assert "407" in message
    assert "TUBEQ_WEBSHARE_PROXY_PASSWORD" in message and "TUBEQ_HTTPS_PROXY" in message
    assert "wr0ngpass" not in message


def test_webshare_settings_build_a_rotating_proxy() -> None:
    src = YouTubeTranscriptSource.from_settings(
        Settings.load(
            transcript_backend="youtube",
            youtube_proxy="webshare",
            webshare_proxy_username="alice",
            webshare_proxy_password="s3cret",
            webshare_proxy_locations="us,de",
        ).youtube_transcripts
    )
    _OPEN.append(src)
    _, session = src._client()
    proxies = session.proxies
    assert proxies["https"] == "http://alice-US-DE-rotate:s3cret@p.webshare.io:80/"
    # the library's retry-on-block survives our adapter mount, and every request has a timeout
    adapter = session.get_adapter("https://www.youtube.com/watch")
    assert adapter.max_retries.total == 10  # type: ignore[attr-defined]
    assert adapter.timeout_s == 30.0  # type: ignore[attr-defined]


def test_classify_maps_request_failed_429_to_rate_limited() -> None:
    from youtube_transcript_api import YouTubeRequestFailed

    err = YouTubeRequestFailed("lllllllllll", requests.HTTPError("429 Client Error: Too Many"))
    assert isinstance(classify(err), errors.RateLimited)
    err5 = YouTubeRequestFailed("lllllllllll", requests.HTTPError("502 Server Error: x?key=abc"))
    mapped = classify(err5)
    assert isinstance(mapped, errors.UpstreamUnavailable)
    assert "key=abc" not in mapped.message
