"""Template analyses without a model (the extractive analyzer's side of templates).

- ``chapters``: topic shifts, TextTiling-style: the vocabulary of the sentences before and
  after each sentence break is compared, and the breaks where it changes most (the lowest
  cosine similarity) start chapters, spaced at least a few minutes apart. A chapter's
  title is its most distinctive words (tf-idf against the other chapters), its gist its
  most central sentence.
- ``mentions``: capitalised-name heuristics, no model: runs of capitalised words that are
  not sentence-initial words also used in lower case, acronyms, and organisation suffixes.
  Products cannot be told from other names this way, so such names are kind ``other``.
- any other template: the schema filled from the most central sentences (strings get
  sentence text, numbers whose name speaks of time get their start second). Meant to show a
  user template end to end offline, not to answer its prompt.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

from shared.extractive.scoring import as_sentence, centrality, clamp, length_prior, trim
from shared.extractive.sentences import Unit, is_punctuated
from shared.models import Transcript

#: the shortest chapter, in seconds (a shorter video gets one chapter)
MIN_CHAPTER_S = 90.0
#: about one chapter per this many seconds, between CHAPTERS[0] and CHAPTERS[1]
CHAPTER_EVERY_S = 420.0
CHAPTERS = (2, 15)
GIST_WORDS = 28
TITLE_WORDS = 3
MAX_MENTIONS = 40
MAX_MENTION_TIMES = 10


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b[t] for t, v in a.items() if t in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def chapter_starts(units: list[Unit], duration_s: float) -> list[int]:
    """The indexes of the units that start chapters (always 0 first)."""
    wanted = clamp(round(duration_s / CHAPTER_EVERY_S), *CHAPTERS)
    if duration_s < 2 * MIN_CHAPTER_S or len(units) < 6:
        return [0]
    wanted = min(wanted, len(units) // 3)
    window = max(3, len(units) // (wanted * 4))
    gaps: list[tuple[float, int]] = []
    for i in range(1, len(units)):
        before = Counter(t for u in units[max(0, i - window) : i] for t in u.terms)
        after = Counter(t for u in units[i : i + window] for t in u.terms)
        gaps.append((_cosine(before, after), i))
    min_gap_s = max(MIN_CHAPTER_S, duration_s / (wanted * 2.5))
    starts = [0]
    for _, i in sorted(gaps):
        if len(starts) == wanted:
            break
        at = units[i].start_s
        if at < min_gap_s or duration_s - at < min_gap_s:
            continue
        if all(abs(at - units[s].start_s) >= min_gap_s for s in starts):
            starts.append(i)
    return sorted(starts)


def chapters(transcript: Transcript, units: list[Unit]) -> dict[str, Any]:
    starts = chapter_starts(units, transcript.duration_s)
    spans = [units[a:b] for a, b in zip(starts, [*starts[1:], len(units)], strict=True)]
    df = Counter(t for span in spans for t in {t for u in span for t in u.terms})
    punctuated = is_punctuated(transcript.text, transcript.word_count)
    out = []
    for k, span in enumerate(spans):
        tf = Counter(t for u in span for t in u.terms)
        scored = sorted(tf, key=lambda t: (-tf[t] * math.log((1 + len(spans)) / df[t]), t))
        words = scored[:TITLE_WORDS] or ["part", str(k + 1)]
        title = " · ".join(words)
        scores = centrality(span)
        best = max(span, key=lambda u: (scores[span.index(u)] * length_prior(u), -u.index))
        out.append(
            {
                "title": title[0].upper() + title[1:],
                "start_s": 0.0 if k == 0 else round(span[0].start_s, 1),
                "gist": as_sentence(trim(best.text, GIST_WORDS), punctuated),
            }
        )
    return {"chapters": out}


@cache
def stopwords_for(language: str) -> frozenset[str]:
    """The stop words of ``language`` from the extractive analyzer's data files
    (``shared/adapters/stopwords/<lang>.txt``); every list for a language without one."""
    folder = resources.files("shared.adapters").joinpath("stopwords")
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    files = [f for f in folder.iterdir() if f.name.endswith(".txt")]
    chosen = [f for f in files if f.name == f"{primary}.txt"] or files
    return frozenset(
        word
        for f in chosen
        for line in f.read_text(encoding="utf-8").splitlines()
        for word in line.partition("#")[0].split()
    )


# ---- mentions: capitalised names -----------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_][\w'’&-]*|[.!?…]")
_ENDS = frozenset(".!?…")
_CONNECTORS = frozenset({"of", "de", "van", "von", "der", "la", "le", "du", "da", "&"})
_ORG_WORDS = frozenset(
    [
        "inc",
        "corp",
        "corporation",
        "ltd",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "plc",
        "company",
        "co",
        "university",
        "institute",
        "college",
        "school",
        "foundation",
        "bank",
        "club",
        "association",
        "council",
        "party",
        "group",
        "agency",
        "ministry",
        "federation",
        "society",
        "committee",
        "league",
    ]
)
#: languages that capitalise every noun: a lone capitalised word says nothing there
_NOUN_CAPS = frozenset({"de", "lb"})


def _is_cap(token: str) -> bool:
    return token[0].isupper() and token not in {"I", "I'm", "I've", "I'll", "I'd"}


def mentions(transcript: Transcript, stop: frozenset[str]) -> dict[str, Any]:
    lower_words = {m.group() for m in _TOKEN.finditer(transcript.text) if m.group().islower()}
    lone_caps_ok = transcript.language.split("-")[0].lower() not in _NOUN_CAPS
    found: dict[str, list[float]] = {}
    #: lone words seen capitalised somewhere other than a sentence's start
    self_standing: set[str] = set()
    for seg in transcript.segments:
        words = [m.group() for m in _TOKEN.finditer(seg.text)]
        run: list[str] = []
        opened_sentence = False
        for pos, word in enumerate([*words, "."]):
            sentence_start = pos == 0 or words[pos - 1] in _ENDS
            if word not in _ENDS and _is_cap(word):
                # a capitalised stop word opening a sentence ("The", "So") starts no name
                if not (sentence_start and not run and word.lower() in stop):
                    if not run:
                        opened_sentence = sentence_start
                    run.append(word.rstrip("'’"))
                    continue
            elif (
                run
                and word.lower() in _CONNECTORS
                and pos + 1 < len(words)
                and _is_cap(words[pos + 1])  # "Bank of England"
            ):
                run.append(word)
                continue
            if run:
                _keep(
                    run,
                    lower_words,
                    lone_caps_ok,
                    stop,
                    found,
                    seg.start,
                    opened_sentence,
                    self_standing,
                )
            run = []
    # a lone word only ever seen opening a sentence is an imperative ("Chop the onion")
    found = {n: t for n, t in found.items() if " " in n or n in self_standing or n.isupper()}
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[1][0], kv[0]))
    return {
        "mentions": [
            {"name": name, "kind": _kind(name), "at_s": sorted(set(times))[:MAX_MENTION_TIMES]}
            for name, times in ranked[:MAX_MENTIONS]
        ]
    }


def _keep(
    run: list[str],
    lower_words: set[str],
    lone_caps_ok: bool,
    stop: frozenset[str],
    found: dict[str, list[float]],
    at: float,
    opened_sentence: bool,
    self_standing: set[str],
) -> None:
    while run and (run[-1].lower() in _CONNECTORS or run[-1].lower() in stop):
        run.pop()
    while run and run[0].lower() in stop:
        run.pop(0)
    if not run:
        return
    name = " ".join(run)
    if len(run) == 1:
        word = run[0]
        acronym = word.isupper() and 2 <= len(word) <= 6
        if not acronym and (not lone_caps_ok or word.lower() in lower_words or len(word) < 3):
            return
        if not opened_sentence:
            self_standing.add(name)
    found.setdefault(name, []).append(round(at, 1))


def _kind(name: str) -> str:
    words = name.split()
    if {w.lower().rstrip(".") for w in words} & _ORG_WORDS or (
        len(words) == 1 and words[0].isupper()
    ):
        return "organisation"
    if 2 <= len(words) <= 3 and all(w[0].isupper() for w in words):
        return "person"
    return "other"


# ---- any other template: its schema, filled from central sentences -----------------------

_TIME_NAME = re.compile(r"(^|_)(s|sec|secs|second|seconds|start|start_s|at|at_s|time|t)($|_)")


def fill_schema(schema: dict[str, Any], units: list[Unit]) -> Any:
    scores = centrality(units)
    ranked = sorted(units, key=lambda u: (-scores[u.index] * length_prior(u), u.index))
    return _fill(schema, "", sorted(ranked[:8], key=lambda u: u.index) or units[:1], 0)


def _fill(schema: dict[str, Any], name: str, context: list[Unit], k: int) -> Any:
    unit = context[k % len(context)]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _fill(schema[key][0], name, context, k)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((t for t in kind if t != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {key: _fill(sub, key, context, k) for key, sub in props.items()}
    if kind == "array":
        items = schema.get("items", {})
        count = clamp(len(context), schema.get("minItems", 1), schema.get("maxItems", 5))
        return [
            _fill(items if isinstance(items, dict) else {}, name, context, i) for i in range(count)
        ]
    if kind in ("number", "integer"):
        value: float = unit.start_s if _TIME_NAME.search(name.lower()) else 0
        value = max(value, schema.get("minimum", value))
        return int(value) if kind == "integer" else round(value, 1)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    text = trim(unit.text, 12 if re.search("title|name|label|topic", name) else GIST_WORDS)
    return text[: schema["maxLength"]] if "maxLength" in schema else text
