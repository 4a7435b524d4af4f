"""Small text utilities shared by chunking, composition, the guard and the scorer."""

from __future__ import annotations

import re
import unicodedata

# Abbreviations after which a period does not end a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "dr", "mr", "mrs", "ms", "no", "vol", "fig", "al", "approx",
    "u.s", "st", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "inc", "ltd", "co", "corp", "dept", "univ", "ca", "cf", "p", "pp",
}
# Full-width digits and capitals start a sentence too (a model or visitor may type "１０ g").
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9¿¡０-９Ａ-Ｚ])")
_ROMAN_END = re.compile(
    r"\b(schedule|class|phase|type|part|title|category|list|appendix|tier|stage|grade|level)\s+[ivx]+\.$", re.I
)
_CITATION_RE = re.compile(r"\s*\[(\d{1,3})\]")
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'\-]*")

STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be been
    being it its this that these those there here what which who whom whose when where why how do
    does did done doing can could should would may might must will shall not no nor so than too
    very just about into over under after before between through during without within also such
    any all some each other more most much many few own same only i me my we our you your he him
    his she her they them their kratom""".split()
)


def normalize_ws(text: str) -> str:
    """Collapse runs of whitespace into single spaces."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations and decimals intact."""
    text = normalize_ws(text)
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".!?\"')]").lower()
        if candidate.endswith(".") and (last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word)):
            if not _ROMAN_END.search(candidate):  # "Schedule I." ends a sentence; "J. Smith" does not
                continue
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


def strip_markdown(text: str) -> str:
    """Remove light Markdown (emphasis, links, list markers) from corpus prose."""
    text = re.sub(r"\[([^\]]+)\]\((?:[^)]+)\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", text)
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text, flags=re.MULTILINE)
    return text


def citation_markers(text: str) -> list[int]:
    """All ``[n]`` citation numbers in a text, in order."""
    return [int(m) for m in re.findall(r"\[(\d{1,3})\]", text)]


def strip_citations(text: str) -> str:
    """Remove ``[n]`` markers."""
    return _CITATION_RE.sub("", text).strip()


def fold(text: str) -> str:
    """Lowercase and strip accents (for matching, not display)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_words(text: str) -> set[str]:
    """Lowercased content words and numbers, without stopwords."""
    return {w.strip("'-") for w in _WORD_RE.findall(fold(text)) if w not in STOPWORDS and len(w) > 1}


def tokens(text: str) -> list[str]:
    """Lowercased word tokens (for BM25)."""
    return [w for w in _WORD_RE.findall(fold(text)) if w not in STOPWORDS]
