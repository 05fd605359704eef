"""Transcripts from YouTube through youtube-transcript-api 1.2.x.

One source per process (built by the factory), holding one ``YouTubeTranscriptApi`` and
``requests.Session`` pair per worker thread. The library's own docstring says it is not
thread-safe: every fetch mutates its session's cookie jar (the consent cookie), proxies and
mounts. The consumer runs a thread pool, and one shared pair behind a lock would serialise
every fetch in the process (a slow YouTube reply would hold up all the workers), so each
thread lazily builds its own pair, all from the same settings; ``close`` closes them all.

Every request gets a timeout and, when ``youtube_base_url`` is not YouTube, is re-routed to
that origin (a stub server in tests and e2e runs) by a transport adapter mounted on the
session: the library hard-codes ``https://www.youtube.com``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
from youtube_transcript_api import (
    NoTranscriptFound,
    TranscriptList,
    YouTubeTranscriptApi,
)
from youtube_transcript_api import (
    Transcript as YtTranscript,
)
from youtube_transcript_api.proxies import GenericProxyConfig, ProxyConfig, WebshareProxyConfig

from shared.adapter_settings import YouTubeTranscriptSettings
from shared.classify import classify
from shared.classify.youtube import available_languages
from shared.errors import ConfigError, NoTranscriptInLanguages
from shared.logging import redact_text
from shared.models import Segment, Transcript

YOUTUBE_ORIGIN = "https://www.youtube.com"


class RoutingTimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout and sends YouTube's origin to ``base_url``."""

    def __init__(self, *, timeout_s: float, base_url: str, max_retries: Retry | int = 0) -> None:
        super().__init__(max_retries=max_retries)
        self.timeout_s = timeout_s
        self.base_url = base_url.rstrip("/")

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url != YOUTUBE_ORIGIN and url.startswith(YOUTUBE_ORIGIN):
            # Cookies were already attached for www.youtube.com by the session; only the
            # connection target changes.
            request.url = self.base_url + url[len(YOUTUBE_ORIGIN) :]
        return super().send(
            request,
            stream=stream,
            timeout=timeout if timeout is not None else self.timeout_s,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def proxy_config_from_settings(section: YouTubeTranscriptSettings) -> ProxyConfig | None:
    if section.proxy == "webshare":
        if not section.webshare_username or section.webshare_password is None:
            raise ConfigError(
                "TUBEQ_YOUTUBE_PROXY=webshare needs TUBEQ_WEBSHARE_PROXY_USERNAME and "
                "TUBEQ_WEBSHARE_PROXY_PASSWORD (from dashboard.webshare.io/proxy/settings)"
            )
        return WebshareProxyConfig(
            proxy_username=section.webshare_username,
            proxy_password=section.webshare_password.get_secret_value(),
            filter_ip_locations=list(section.webshare_locations) or None,
        )
    if section.proxy == "generic":
        http = section.http_proxy.get_secret_value() if section.http_proxy else None
        https = section.https_proxy.get_secret_value() if section.https_proxy else None
        if not http and not https:
            raise ConfigError(
                "TUBEQ_YOUTUBE_PROXY=generic needs TUBEQ_HTTP_PROXY or TUBEQ_HTTPS_PROXY"
            )
        return GenericProxyConfig(http_url=http, https_url=https)
    return None


class YouTubeTranscriptSource:
    """``TranscriptSource`` over youtube-transcript-api: language preference, manual first,
    optional translation, timed segments kept."""

    name = "youtube"

    def __init__(
        self,
        *,
        languages: list[str],
        prefer_manual: bool = True,
        translate_to: str | None = None,
        proxy_config: ProxyConfig | None = None,
        timeout_s: float = 30.0,
        base_url: str = YOUTUBE_ORIGIN,
    ) -> None:
        if not languages:
            raise ConfigError("TUBEQ_YOUTUBE_LANGUAGES is empty: list at least one code, e.g. en")
        self.languages = list(languages)
        self.prefer_manual = prefer_manual
        self.translate_to = translate_to or None
        self._proxy_config = proxy_config
        self._timeout_s = timeout_s
        self._base_url = base_url
        self._secrets = _proxy_secrets(proxy_config)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []  # every thread's, for close()
        self._sessions_lock = threading.Lock()
        self._closed = False

    def _client(self) -> tuple[YouTubeTranscriptApi, requests.Session]:
        """This thread's (API, session) pair, built on first use."""
        pair: tuple[YouTubeTranscriptApi, requests.Session] | None = getattr(
            self._local, "pair", None
        )
        if pair is not None:
            return pair
        session = requests.Session()
        # Proxies come from settings only; a stray HTTPS_PROXY in the environment must not
        # silently reroute (or break) YouTube traffic.
        session.trust_env = False
        api = YouTubeTranscriptApi(proxy_config=self._proxy_config, http_client=session)
        # Mounted after the library, which mounts its own retrying adapter for rotating
        # proxies; ours keeps that retry policy and adds the timeout and routing.
        retries = self._proxy_config.retries_when_blocked if self._proxy_config else 0
        retry: Retry | int = Retry(total=retries, status_forcelist=[429]) if retries else 0
        adapter = RoutingTimeoutAdapter(
            timeout_s=self._timeout_s, base_url=self._base_url, max_retries=retry
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        with self._sessions_lock:
            if self._closed:
                session.close()
                raise RuntimeError("this YouTube transcript source is closed")
            self._sessions.append(session)
        pair = (api, session)
        self._local.pair = pair
        return pair

    @classmethod
    def from_settings(cls, section: YouTubeTranscriptSettings) -> Self:
        return cls(
            languages=list(section.languages),
            prefer_manual=section.prefer_manual,
            translate_to=section.translate_to,
            proxy_config=proxy_config_from_settings(section),
            timeout_s=section.timeout_s,
            base_url=section.base_url,
        )

    def fetch(self, video_id: str) -> Transcript:
        api, _ = self._client()
        listing: TranscriptList | None = None
        try:
            listing = api.list(video_id)
            chosen = self._choose(listing)
            translated_from: str | None = None
            # en-GB is already English: translating it to en would only lose the manual text
            if self.translate_to and not _is_variant(chosen.language_code, self.translate_to):
                translated_from = chosen.language_code
                original_generated = chosen.is_generated
                chosen = chosen.translate(self.translate_to)
            else:
                original_generated = chosen.is_generated
            fetched = chosen.fetch()
        except Exception as exc:
            raise self._classified(exc, listing) from exc
        return Transcript(
            video_id=video_id,
            language=fetched.language_code,
            language_name=fetched.language,
            # the library marks every translation as generated; keep what the source was
            is_generated=original_generated,
            translated_from=translated_from,
            segments=tuple(
                Segment(start=max(0.0, s.start), duration=max(0.0, s.duration), text=s.text)
                for s in fetched.snippets
            ),
            source=self.name,
        )

    def close(self) -> None:
        with self._sessions_lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _choose(self, listing: TranscriptList) -> YtTranscript:
        """The track to fetch: the wanted languages in order, each matched exactly first and
        then by its regional variants (``en`` takes ``en-GB``, ``en_US``); with
        ``prefer_manual`` every manual track, exact or regional, beats every generated one."""
        tracks = list(listing)  # manual ones first, as the library keeps them
        kinds: list[list[YtTranscript]] = (
            [[t for t in tracks if not t.is_generated], [t for t in tracks if t.is_generated]]
            if self.prefer_manual
            else [tracks]
        )
        for candidates in kinds:
            chosen = _by_language(candidates, self.languages)
            if chosen is not None:
                return chosen
        try:
            # nothing matched: the library's own lookup raises the error that lists the
            # video's languages
            return listing.find_transcript(self.languages)
        except NoTranscriptFound:
            if not self.translate_to:
                raise
            # None in the wanted languages, but any translatable one will do when a
            # translation target is set (manual ones first: the library iterates them first).
            for candidate in listing:
                if candidate.is_translatable:
                    return candidate
            raise

    def _classified(self, exc: BaseException, listing: TranscriptList | None) -> Exception:
        err = classify(exc)
        text = err.message
        if (
            isinstance(err, NoTranscriptInLanguages)
            and listing is not None
            and ("available:" not in text)
        ):
            # a failed translation: say what the video does have
            text += f" (available: {', '.join(available_languages(listing)) or 'none'})"
        # Proxy URLs carry passwords and a requests error may quote them.
        text = redact_text(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        err.args = (text,)
        return err


def _by_language(tracks: list[YtTranscript], languages: list[str]) -> YtTranscript | None:
    for wanted in languages:
        exact = next((t for t in tracks if t.language_code == wanted), None)
        if exact is not None:
            return exact
        regional = _regional_variants(tracks, wanted)
        if regional:
            return regional[0]
    return None


def _regional_variants(tracks: list[YtTranscript], wanted: str) -> list[YtTranscript]:
    """The tracks in ``wanted`` or a variant of it, in the listing's order."""
    return [t for t in tracks if _is_variant(t.language_code, wanted)]


def _is_variant(code: str, wanted: str) -> bool:
    """``code`` is ``wanted`` or a regional variant of it: ``en`` takes ``en-GB``, ``en_US``
    and ``EN-gb``; ``en-GB`` takes ``en_gb`` (not ``en-US``)."""
    have, want = _normalise_language(code), _normalise_language(wanted)
    return have == want or ("-" not in want and have.split("-", 1)[0] == want)


def _normalise_language(code: str) -> str:
    return code.strip().replace("_", "-").lower()


def _proxy_secrets(proxy_config: ProxyConfig | None) -> list[str]:
    if isinstance(proxy_config, WebshareProxyConfig):
        return [proxy_config.proxy_password]
    if isinstance(proxy_config, GenericProxyConfig):
        return [u for u in (proxy_config.http_url, proxy_config.https_url) if u]
    return []
