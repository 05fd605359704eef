"""The offline analyzer: extractive, deterministic, pure Python, no model and no network.

It picks sentences instead of writing them. Each sentence (or, for auto-generated captions
without punctuation, each group of consecutive segments) is a TF-IDF vector over its content
words; a sentence's centrality is its cosine similarity to the sum of all of them, i.e. how
much it shares the transcript's dominant vocabulary. From there:

- summary: the three most central sentences, in the order they were spoken;
- key points: the next 5-8 most central sentences that are not near-duplicates, trimmed;
- topics: the words and two-word phrases with the highest tf·idf (stopwords of the
  transcript's language removed), lower case;
- quotes: 3-5 central sentences of quotable length, verbatim, with the start time of the
  segment they begin in.

Centroid similarity is O(words), unlike pairwise TextRank (O(sentences²)), so a two-hour
transcript takes well under a second.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from shared.errors import PermanentError
from shared.models import Analysis, Quote, Transcript, Usage, VideoMeta
from shared.settings import Settings

ANALYZER_LABEL = "extractive (offline)"
ANALYSIS_VERSION = "extractive-v1"

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”»)\]]*\s+")
_TERMINALS = re.compile(r"[.!?…](?:\s|$)")
_FRENCH_ELISION = re.compile(r"^(?:[cdjlmnst]|qu)'")

SUMMARY_SENTENCES = 3
KEY_POINTS = (5, 8)
QUOTES = (3, 5)
MAX_TOPICS = 8
KEY_POINT_WORDS = 30
QUOTE_WORDS = (6, 40)
#: auto-generated captions are cut into pseudo-sentences of at least this many words
PSEUDO_SENTENCE_WORDS = 22


class EmptyTranscript(PermanentError):
    """The transcript has no text to analyse."""

    code = "empty_transcript"


@dataclass(frozen=True)
class _Unit:
    """A sentence (or pseudo-sentence) as spoken: verbatim text and where it starts."""

    index: int
    text: str
    start_s: float
    terms: tuple[str, ...]
    bigrams: tuple[str, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


class ExtractiveAnalyzer:
    """``shared.ports.Analyzer`` without a model: same ``Analysis`` shape, zero cost."""

    name = "extractive"

    @property
    def analysis_version(self) -> str:
        return ANALYSIS_VERSION

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls()

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        stop = stopwords_for(transcript.language)
        units = _units(transcript, stop)
        if not units:
            raise EmptyTranscript(
                f"video {transcript.video_id}: the transcript has no text to analyse "
                f"({len(transcript.segments)} segments, all empty)"
            )
        scores = _centrality(units)
        ranked = sorted(units, key=lambda u: (-scores[u.index] * _length_prior(u), u.index))
        punctuated = _is_punctuated(transcript.text)

        # Templated speech repeats itself; three near-identical sentences are no summary.
        summary_units = _distinct(ranked, SUMMARY_SENTENCES, []) or ranked[:1]
        summary = " ".join(_as_sentence(u.text, punctuated) for u in summary_units)

        wanted_points = _clamp(len(units) // 6, *KEY_POINTS)
        points = _distinct(ranked[SUMMARY_SENTENCES:], wanted_points, summary_units)
        if len(points) < KEY_POINTS[0]:  # a short transcript: reuse the summary's sentences
            points = _distinct(ranked, wanted_points, [])
        key_points = [_as_sentence(_trim(u.text, KEY_POINT_WORDS), punctuated) for u in points]

        personal = personal_words_for(transcript.language)
        quotes = _quotes(ranked, scores, personal, _clamp(len(units) // 10, *QUOTES))

        info = meta or transcript.meta
        topics = _topics(units, stop, info.title if info is not None and info.title else "")
        return Analysis(
            video_id=transcript.video_id,
            summary=summary,
            key_points=key_points,
            topics=topics,
            quotes=quotes,
            language=transcript.language,
            analysis_version=ANALYSIS_VERSION,
            analyzer=ANALYZER_LABEL,
            model=None,
            usage=Usage(),
        )


# ---- sentences ------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Lower-case words; elisions and possessives cut (l'eau -> eau, saturn's -> saturn)."""
    out = []
    for match in _WORD.finditer(text.lower()):
        word = _FRENCH_ELISION.sub("", match.group().replace("’", "'"))
        out.append(word.split("'", 1)[0])
    return out


def _content(tokens: Iterable[str], stop: frozenset[str]) -> list[str]:
    return [t for t in tokens if len(t) >= 3 and t not in stop]


def _is_punctuated(text: str) -> bool:
    # ASR captions have no sentence ends at all; allow a sparse few before trusting them.
    return len(_TERMINALS.findall(text)) * 40 >= len(text.split())


def _units(transcript: Transcript, stop: frozenset[str]) -> list[_Unit]:
    segments = [s for s in transcript.segments if s.text.strip()]
    pieces = [s.text.strip() for s in segments]
    offsets: list[int] = []
    pos = 0
    for piece in pieces:
        offsets.append(pos)
        pos += len(piece) + 1
    # The same string as Transcript.text, so every unit is a verbatim substring of it.
    text = " ".join(pieces)
    spans = _sentence_spans(text) if _is_punctuated(text) else _group_spans(offsets, pieces)
    units: list[_Unit] = []
    for begin, end in spans:
        chunk = text[begin:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        begin += len(chunk) - len(chunk.lstrip())
        segment = segments[bisect.bisect_right(offsets, begin) - 1]
        tokens = _tokens(stripped)
        units.append(
            _Unit(
                index=len(units),
                text=stripped,
                start_s=segment.start,
                terms=tuple(_content(tokens, stop)),
                bigrams=tuple(_bigrams(tokens, stop)),
            )
        )
    return units


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, begin = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        spans.append((begin, match.start()))
        begin = match.end()
    spans.append((begin, len(text)))
    return spans


def _group_spans(offsets: list[int], pieces: list[str]) -> list[tuple[int, int]]:
    """Pseudo-sentences for unpunctuated captions: runs of consecutive segments."""
    spans, first, words = [], 0, 0
    for k, piece in enumerate(pieces):
        words += len(piece.split())
        if words >= PSEUDO_SENTENCE_WORDS or k == len(pieces) - 1:
            spans.append((offsets[first], offsets[k] + len(piece)))
            first, words = k + 1, 0
    return spans


def _bigrams(tokens: list[str], stop: frozenset[str]) -> list[str]:
    return [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if a != b and len(a) >= 3 and len(b) >= 3 and a not in stop and b not in stop
    ]


# ---- scoring --------------------------------------------------------------------------------


def _centrality(units: list[_Unit]) -> list[float]:
    """Cosine similarity of each unit's tf-idf vector to the sum of all of them."""
    n = len(units)
    df = Counter(t for u in units for t in set(u.terms))
    vectors: list[dict[str, float]] = []
    centroid: dict[str, float] = {}
    for unit in units:
        tf = Counter(unit.terms)
        vec = {t: (1 + math.log(c)) * math.log((n + 1) / (df[t] + 0.5)) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vec = {t: v / norm for t, v in vec.items()}
        vectors.append(vec)
        for t, v in vec.items():
            centroid[t] = centroid.get(t, 0.0) + v
    c_norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    return [sum(v * centroid[t] for t, v in vec.items()) / c_norm for vec in vectors]


def _length_prior(unit: _Unit) -> float:
    # Fragments say little and run-ons make poor summaries, whatever their vocabulary.
    words = unit.words
    if words < 6:
        return 0.4
    if words < 10:
        return 0.8
    return 0.7 if words > 60 else 1.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _distinct(candidates: list[_Unit], count: int, avoid: list[_Unit]) -> list[_Unit]:
    """The first ``count`` candidates that are not near-duplicates, in spoken order."""
    chosen: list[_Unit] = []
    taken = [set(u.terms) for u in avoid]
    for unit in candidates:
        if len(chosen) == count:
            break
        terms = set(unit.terms)
        if unit.words < 4 or not terms or any(_jaccard(terms, t) > 0.5 for t in taken):
            continue
        chosen.append(unit)
        taken.append(terms)
    return sorted(chosen, key=lambda u: u.index)


def _quotes(
    ranked: list[_Unit], scores: list[float], personal: frozenset[str], count: int
) -> list[Quote]:
    def quotability(unit: _Unit) -> float:
        # A line that speaks to or from someone, or exclaims, reads like a quote.
        bonus = 1.25 if personal & set(_tokens(unit.text)) else 1.0
        if "!" in unit.text:
            bonus *= 1.1
        return scores[unit.index] * _length_prior(unit) * bonus

    candidates = sorted(
        (u for u in ranked if u.words >= QUOTE_WORDS[0]),
        key=lambda u: (-quotability(u), u.index),
    )
    chosen = _distinct(candidates, count, []) or ranked[:count]
    return [Quote(text=_prefix(u.text, QUOTE_WORDS[1]), start_s=u.start_s) for u in chosen]


def _topics(units: list[_Unit], stop: frozenset[str], title: str) -> list[str]:
    n = len(units)
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    for unit in units:
        grams = unit.terms + unit.bigrams
        tf.update(grams)
        df.update(set(grams))
    in_title = set(_content(_tokens(title), stop))
    min_bigram = max(2, n // 150)

    def score(gram: str) -> float:
        value = tf[gram] * math.log(1 + n / df[gram])
        words = gram.split()
        if len(words) > 1:
            value *= 1.5
        if in_title.intersection(words):
            value *= 1.5
        return value

    candidates = [g for g in tf if " " not in g or tf[g] >= min_bigram]
    topics: list[str] = []
    used: set[str] = set()
    for gram in sorted(candidates, key=lambda g: (-score(g), g)):
        words = gram.split()
        if used.intersection(words):  # "rook" and "rook endgames" say the same thing
            continue
        topics.append(gram)
        used.update(words)
        if len(topics) == MAX_TOPICS:
            break
    return topics


# ---- text -----------------------------------------------------------------------------------


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _prefix(text: str, max_words: int) -> str:
    """The first ``max_words`` words of ``text``, verbatim (a substring, not a re-join)."""
    for k, match in enumerate(re.finditer(r"\S+", text), start=1):
        if k == max_words:
            return text[: match.end()]
    return text


def _trim(text: str, max_words: int) -> str:
    short = _prefix(text, max_words)
    return short if short == text else short.rstrip(",;:") + " …"


def _as_sentence(text: str, punctuated: bool) -> str:
    """Pseudo-sentences from ASR captions get a capital and a full stop for reading."""
    if punctuated or not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


# ---- stopwords: function words and spoken fillers (lower case, elisions cut) --------------

_EN = """
a about above after again against all almost also although always am an and another any
anybody anyone anything are around as at away back be because been before being below
between both but by came can cannot could did didn do does doesn doing don done down during
each either else enough even ever every everybody everyone everything few first for from
further get gets getting go goes going gone gonna got had has have having he her here hers
herself him himself his how however i if in into is isn it its itself just last least less
let lets like likely little lot lots made make makes many may maybe me might mine more most
much must my myself need needs never new next no nobody none nor not nothing now of off often
oh okay ok on once one only onto or other others our ours ourselves out over own per perhaps
please pretty put quite rather really right said same say says see seem seems shall she
should since so some somebody someone something sometimes soon still such sure take than
that the their theirs them themselves then there these they thing things think this those
though through thus till to today together too took two three four five six seven eight
nine ten eleven twelve twenty thirty forty fifty hundred thousand million billion under
until up upon us use used uses using very via want wanted wants was wasn way ways we well
went were weren what whatever when where whether which while who whole whom whose why will
with within without won would wouldn yeah yes yet you your yours yourself yourselves ll ve
re also actually basically literally kind sort stuff bit come comes coming look looks
looking know knows tell talk talking give gives good great big small keep kept mean means
bunch else honestly anyway anyways alright guys hey hello thanks thank welcome tonight
second seconds minute minutes time times day days year years
"""

_DE = """
aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch
auf aus bei beim bin bis bisschen bist da dabei dadurch dafür dagegen daher damit danach dann
daran darauf darum das dass davon dazu dem den denen denn der deren des deshalb dessen dich
die dies diese diesem diesen dieser dieses dir doch dort du durch eben ein eine einem einen
einer eines einfach einige einmal er es etwa etwas euch euer eure eurem euren eurer fast für
gab gar gegen geht gehen genau gerade gern gerne gibt gut habe haben hat hatte hätte hier
hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im immer in ins ist ja jede jedem
jeden jeder jedes jetzt kann kein keine keinem keinen keiner können könnt könnte man manche
mehr mein meine meinem meinen meiner mich mir mit muss musst müssen nach nicht nichts noch
nun nur ob oder ohne sehr sein seine seinem seinen seiner seit selbst sich sie sind so solche
soll sollte sondern sonst über um und uns unser unsere unter viel viele vom von vor wann war
waren warum was weil weiter welche welchem welchen welcher wenn wer werden wie wieder wir
wird wirklich wo wurde wurden zu zum zur zwar zwei drei vier fünf sechs sieben acht neun zehn
zwanzig hundert tausend halt mal also okay naja ähm äh genau eigentlich irgendwie ganz
schon heute immer erst dann dort hallo tschüss bis später ihr euch uns lasst schaut
"""

_ES = """
a al algo algunos ante antes así aunque bien cada casi como con contra cual cuando de del
desde donde dos tres cuatro cinco diez cien mil el ella ellas ellos en entre era es esa
esas ese eso esos esta está están estas este esto estos fue ha hace hacia han hasta hay la
las le les lo los más me mi mis mucho muy nada ni no nos nosotros o os otra otro para pero
poco por porque que qué se ser si sí sin sobre solo son su sus también tan tanto te tiene
tienen todo todos tu tus un una uno unos usted ustedes va vamos y ya yo bueno pues entonces
vale hola sea les muy aquí allí así ahí les eso pueden puede hoy les también les dónde
"""

_FR = """
à ai alors au aussi autre aux avec avoir bien bon c ça ce cela ces cet cette chaque comme
d dans de des deux trois quatre cinq dix cent mille donc du elle elles en encore entre est
et été être eu fait faire il ils j je juste l la le les leur leurs lui m ma mais me même
mes moi mon n ne ni nos notre nous on ont ou où par pas peu peut plus pour pourquoi qu que
quel quelle qui s sa sans se ses si son sont sous sur ta te tes toi ton tous tout toute
toutes très tu un une vos votre vous y voilà alors bon ben bah euh aujourd hui bonjour
bientôt entre chaque peut après avant
"""

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(_EN.split()),
    "de": frozenset(_DE.split()),
    "es": frozenset(_ES.split()),
    "fr": frozenset(_FR.split()),
}
#: for a language without its own list: every list (better too many stopwords than topics
#: like "the" or "und")
ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())

#: first- and second-person words: a sentence that speaks to or from someone reads like a
#: quote, so the quote picker prefers it a little
PERSONAL: dict[str, frozenset[str]] = {
    "en": frozenset(("i", "my", "me", "we", "our", "you", "your")),
    "de": frozenset(("ich", "mein", "meine", "mir", "mich", "wir", "unser", "ihr", "euch", "du")),
    "es": frozenset(("yo", "mi", "me", "nosotros", "nuestro", "ustedes", "tú", "tu")),
    "fr": frozenset(("je", "mon", "ma", "moi", "nous", "notre", "vous", "votre", "tu", "ton")),
}


def stopwords_for(language: str) -> frozenset[str]:
    return STOPWORDS.get(primary_language(language), ALL_STOPWORDS)


def personal_words_for(language: str) -> frozenset[str]:
    return PERSONAL.get(primary_language(language), frozenset())


def primary_language(language: str) -> str:
    """'de-DE' -> 'de', 'pt_BR' -> 'pt'."""
    return language.replace("_", "-").split("-", 1)[0].lower()
