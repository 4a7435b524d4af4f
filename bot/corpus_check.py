"""The corpus checker and the SOURCES.md generator (`kratom-bot corpus check|sources`).

``check_corpus(corpus_dir)`` validates every document and FAQ file and returns a
``CheckReport`` of errors (the corpus must not ship) and warnings (a person should
look), each naming the file and, where possible, the line. The CLI prints it and exits
non-zero on errors; the staff console calls the same function.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence
from urllib.parse import urlsplit

import numpy as np

from .corpus import parse_document, parse_faq_file, read_text
from .errors import CorpusError
from .guard.output import dose_hits
from .schema import Document, FaqEntry
from .text import content_words, fold, split_sentences, strip_markdown

Severity = Literal["error", "warning"]

# The topic vocabulary of corpus/README.md; topics also choose the safety warnings.
TOPICS = frozenset(
    """basics pharmacology 7-oh regulation us-federal us-states international side-effects liver heart
    seizures skin dependence withdrawal treatment pregnancy youth mental-health interactions overdose
    emergency deaths contamination product-quality research myths drug-testing""".split()
)

MIN_WORDS, MAX_WORDS = 300, 1200
MIN_PHRASINGS, MAX_PHRASINGS = 2, 5
MIN_ANSWER_SENTENCES, MAX_ANSWER_SENTENCES = 2, 6
STALE_AFTER_DAYS = 365
# Below these, an FAQ answer sentence is not clearly supported by its source documents.
WEAK_LEXICAL_SUPPORT = 0.5
WEAK_SEMANTIC_SUPPORT = 0.55
# Above this, two FAQ phrasings of different entries are indistinguishable to the FAQ matcher.
NEAR_DUPLICATE_PHRASING = 0.95

# Domains that are copies, aggregators, personal blogs or sellers rather than the source itself.
WEAK_DOMAINS: dict[str, str] = {
    "wordpress.com": "a personal blog",
    "blogspot.com": "a personal blog",
    "medium.com": "a personal blog",
    "scribd.com": "a document-sharing copy",
    "soylentnews.org": "a discussion forum",
    "reddit.com": "a discussion forum",
    "datapdf.com": "a document-sharing copy",
    "readkong.com": "a document-sharing copy",
    "docslib.org": "a document-sharing copy",
    "documentine.com": "a document-sharing copy",
    "studylib.net": "a document-sharing copy",
    "yumpu.com": "a document-sharing copy",
    "peeref.com": "an aggregator",
    "cloudfront.net": "an unlabelled mirror",
    "mdspire.com": "an aggregator",
    "einpresswire.com": "a press-release aggregator",
    "legistorm.com": "an aggregator",
    "thefederalregister.org": "an unofficial Federal Register mirror",
    "elaws.us": "an unofficial Federal Register mirror",
    "uslawyerdatabase.com": "an unofficial copy of the law",
    "legiplex.com": "an unofficial copy of the bill",
    "fastdemocracy.com": "an unofficial bill summary",
    "erowid.org": "a drug-user information site",
    "xy-pack.com": "a packaging vendor's copy",
    "vufind-test.katalog.k.utb.cz": "a library catalogue test server",
}
# Sellers and advocacy groups; citable only when presented as their argument.
_VENDOR_DOMAIN = re.compile(r"kratom|ketum|7oh|kava|botanical|smoke-?shop|vape|\bshop\b|store", re.I)
_ADVOCACY_LABEL = re.compile(r"\b(argues|advocacy|industry group|trade group|industry summary|position of)\b", re.I)

# Imperative or advisory wording that turns an amount into an instruction.
_IMPERATIVE_START = re.compile(
    r"^(?:(?:please|then|first|just|now|simply)\s+)?(?:do not|don't|never|always|only\s+)?\s*"
    r"(take|use|start|begin|try|mix|add|stir|dissolve|drink|eat|swallow|chew|brew|dose|redose|measure|weigh|"
    r"split|divide|limit|keep|stay|stick|reduce|cut|lower|taper|increase|raise|wait|avoid|stop|aim|go)\b",
    re.I,
)
_ADVISORY = re.compile(
    r"\b(should|ought to|must|need to|needs to|you can|you could|you may|we recommend|is recommended|"
    r"are recommended|recommended (?:dose|amount|starting)|no more than|do not exceed|don't exceed|"
    r"not exceed|aim for|stick to|starting dose|starter dose|safe (?:dose|amount)|at most)\b",
    re.I,
)
_PRONOUN_START = re.compile(r"^(It|Its|This|These|Those|They|Their|That|He|She|Such)\b(?!\s+(?:is|was)\s+(?:not\s+)?(?:clear|unclear|known|unknown|possible|likely|unlikely|important|hard|difficult|illegal|legal|uncertain)\b)")
_MARKER = re.compile(r"\[\d{1,3}\]")


@dataclass(frozen=True)
class Finding:
    """One problem: where it is, how serious, and what to do about it."""

    severity: Severity
    code: str
    path: Path
    line: int | None
    message: str

    def location(self) -> str:
        """``file:line`` (or just the file when the line is unknown)."""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        return f"{self.location()}: {self.severity}: {self.message} [{self.code}]"

    def to_json_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "severity": self.severity, "code": self.code, "path": str(self.path),
            "line": self.line, "message": self.message,
        }


@dataclass(frozen=True)
class CheckReport:
    """Everything the checker found in one corpus folder."""

    corpus_dir: Path
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    documents: int = 0
    faq_entries: int = 0
    support_method: str = "lexical"

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not fail the check)."""
        return not self.errors

    def codes(self) -> set[str]:
        """Codes of every finding (handy for tests and dashboards)."""
        return {f.code for f in (*self.errors, *self.warnings)}

    def summary(self) -> str:
        """One line: counts of documents, FAQ entries, errors and warnings."""
        return (
            f"{self.documents} documents, {self.faq_entries} FAQ entries: "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        )

    def to_json_dict(self) -> dict:
        """A JSON-ready dict for the staff console."""
        return {
            "corpus_dir": str(self.corpus_dir), "ok": self.ok, "documents": self.documents,
            "faq_entries": self.faq_entries, "support_method": self.support_method,
            "errors": [f.to_json_dict() for f in self.errors],
            "warnings": [f.to_json_dict() for f in self.warnings],
        }


@dataclass
class _Collector:
    findings: list[Finding] = field(default_factory=list)

    def error(self, code: str, path: Path, line: int | None, message: str) -> None:
        self.findings.append(Finding("error", code, path, line, message))

    def warn(self, code: str, path: Path, line: int | None, message: str) -> None:
        self.findings.append(Finding("warning", code, path, line, message))


# -- locating things in files ----------------------------------------------------------


class _Lines:
    """A file's lines, for turning a key or a sentence into a line number."""

    def __init__(self, path: Path):
        try:
            self.lines = read_text(path).splitlines()
        except CorpusError:
            self.lines = []

    def find(self, needle: str, start: int = 1, end: int | None = None) -> int | None:
        """The first line (1-based, from ``start``) containing ``needle`` (whitespace-insensitive)."""
        probe = " ".join(needle.split())
        if not probe:
            return None
        stop = len(self.lines) if end is None else min(end, len(self.lines))
        for i in range(max(start, 1) - 1, stop):
            if probe in " ".join(self.lines[i].split()):
                return i + 1
        return None

    def sentence(self, sentence: str, start: int = 1) -> int | None:
        """The line where a (possibly wrapped) sentence begins."""
        words = _MARKER.sub("", strip_markdown(sentence)).split()
        for n in (8, 5, 3):
            if len(words) >= n or n == 3:
                found = self.find(" ".join(words[:n]), start)
                if found:
                    return found
        return None

    def entry(self, entry_id: str) -> int | None:
        """The line of an FAQ entry's ``- id: <entry_id>`` (exact, so ``faq-a`` does not match ``faq-ab``)."""
        pat = re.compile(rf"^\s*(?:-\s+)?id:\s*['\"]?{re.escape(entry_id)}['\"]?\s*$")
        return next((i + 1 for i, line in enumerate(self.lines) if pat.match(line)), None)

    def key(self, name: str, start: int = 1, end: int | None = None) -> int | None:
        """The line of a YAML key ``name:`` (front matter or FAQ)."""
        pat = re.compile(rf"^\s*(?:-\s+)?{re.escape(name)}\s*:")
        stop = len(self.lines) if end is None else min(end, len(self.lines))
        for i in range(max(start, 1) - 1, stop):
            if pat.match(self.lines[i]):
                return i + 1
        return None


def _body_sentences(doc: Document, lines: _Lines) -> list[tuple[str, int | None]]:
    """Prose sentences of a document body with the line each starts on (headings excluded)."""
    out: list[tuple[str, int | None]] = []
    block: list[tuple[int, str]] = []
    offset = doc.body_line

    def flush():
        if not block:
            return
        text = " ".join(strip_markdown(t) for _, t in block)
        first = block[0][0]
        for sentence in split_sentences(text):
            out.append((sentence, lines.sentence(sentence, first) or first))
        block.clear()

    for i, raw in enumerate(doc.body.splitlines()):
        if not raw.strip() or raw.lstrip().startswith("#"):
            flush()
            continue
        block.append((offset + i, raw))
    flush()
    return out


def body_word_count(doc: Document) -> int:
    """Words of prose in a document body (headings and Markdown marks not counted)."""
    prose = [ln for ln in doc.body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return len(strip_markdown("\n".join(prose)).split())


# -- individual checks ------------------------------------------------------------------


def check_url(url: str) -> str | None:
    """Why a source URL is unacceptable (malformed or a bare homepage), or None when it is fine."""
    if not url or any(c.isspace() for c in url):
        return f"URL {url!r} is empty or contains spaces"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"URL {url!r} must start with https:// or http://"
    host = parts.hostname or ""
    if "." not in host or host.startswith(".") or host.endswith("."):
        return f"URL {url!r} has no valid host name"
    if parts.path.strip("/") == "" and not parts.query:
        return f"URL {url!r} is a bare homepage; link the specific page that supports the facts"
    return None


def weak_domain(url: str, org: str = "") -> str | None:
    """Why a source's domain is not authoritative (a copy, blog, seller), or None."""
    host = (urlsplit(url).hostname or "").lower()
    for domain, why in WEAK_DOMAINS.items():
        if host == domain or host.endswith("." + domain):
            return f"{host} is {why}; cite the original (agency page, journal, PubMed/DOI) instead"
    if _VENDOR_DOMAIN.search(host.replace(".", " ")) and not _ADVOCACY_LABEL.search(org):
        return (
            f"{host} looks like a seller or advocacy site; cite an independent source, or label it "
            "as an argument (e.g. org: 'American Kratom Association (advocacy group)')"
        )
    return None


def dosing_instruction(sentence: str) -> list[str]:
    """Amounts in a sentence that reads as an instruction (an amount plus an imperative or "should")."""
    hits = dose_hits(sentence)
    if not hits:
        return []
    plain = _MARKER.sub("", sentence).strip().strip("\"'“”")
    if _IMPERATIVE_START.search(plain) or _ADVISORY.search(plain) or re.search(r"\byou\b", plain, re.I):
        return hits
    return []


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in content_words(text)}


def lexical_support(sentence: str, passages: Sequence[str]) -> float:
    """Share of a sentence's content words found in its best supporting passage (0..1)."""
    want = _words(sentence)
    if not want:
        return 1.0
    return max((len(want & _words(p)) / len(want) for p in passages), default=0.0)


def _normal_question(q: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(q)))


# -- the checker ------------------------------------------------------------------------


def check_corpus(
    corpus_dir: Path | str,
    *,
    today: dt.date | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    check_sources_file: bool = True,
) -> CheckReport:
    """Validate a corpus folder and return every error and warning found.

    ``embed`` (texts → L2-normalised vectors), when given, measures how well each FAQ
    answer sentence is supported by its source documents semantically; otherwise a
    cheap lexical overlap is used. ``today`` defaults to the current date.
    """
    corpus_dir = Path(corpus_dir)
    today = today or dt.date.today()
    out = _Collector()
    docs_dir = corpus_dir / "docs"
    if not docs_dir.is_dir():
        out.error("missing-folder", docs_dir, None, "the corpus has no docs/ folder")
        return _report(corpus_dir, out, 0, 0, "none")

    documents: dict[str, Document] = {}
    doc_lines: dict[str, _Lines] = {}
    for path in sorted(docs_dir.glob("*.md")):
        try:
            doc = parse_document(path)
        except CorpusError as exc:
            out.error("schema", exc.path, exc.line, exc.problem)
            continue
        if doc.id in documents:
            out.error("duplicate-id", path, _Lines(path).key("id"), f"duplicate id {doc.id!r}, already used by {documents[doc.id].path.name}")
            continue
        documents[doc.id] = doc
        doc_lines[doc.id] = _Lines(path)
        _check_document(doc, doc_lines[doc.id], today, out)
    for other in sorted(p for p in docs_dir.iterdir() if p.is_file() and p.suffix != ".md"):
        out.warn("stray-file", other, None, f"{other.name} is not a .md document and is ignored")
    if not documents and not any(f.code == "schema" for f in out.findings):
        out.error("no-documents", docs_dir, None, "no documents (*.md) found")

    entries: list[FaqEntry] = []
    faq_dir = corpus_dir / "faq"
    if faq_dir.is_dir():
        seen: dict[str, Path] = {}
        for path in sorted(list(faq_dir.glob("*.yaml")) + list(faq_dir.glob("*.yml"))):
            try:
                parsed = parse_faq_file(path)
            except CorpusError as exc:
                out.error("schema", exc.path, exc.line, exc.problem)
                continue
            lines = _Lines(path)
            for entry in parsed:
                line = lines.entry(entry.id)
                if entry.id in seen:
                    out.error("duplicate-id", path, line, f"duplicate FAQ id {entry.id!r}, already used in {seen[entry.id].name}")
                    continue
                seen[entry.id] = path
                entries.append(entry)
                _check_faq_entry(entry, lines, line, documents, out)
        _check_duplicate_phrasings(entries, out)
        _check_faq_support(entries, documents, out, embed)
        if embed is not None:
            _check_near_duplicate_phrasings(entries, out, embed)

    if documents:
        _check_source_consistency(list(documents.values()), doc_lines, out)
    if check_sources_file and documents:
        _check_sources_file(corpus_dir, list(documents.values()), out)
    return _report(corpus_dir, out, len(documents), len(entries), "semantic" if embed else "lexical")


def _report(corpus_dir: Path, out: _Collector, n_docs: int, n_faq: int, method: str) -> CheckReport:
    key = lambda f: (str(f.path), f.line or 0, f.code)  # noqa: E731
    return CheckReport(
        corpus_dir=corpus_dir,
        errors=tuple(sorted((f for f in out.findings if f.severity == "error"), key=key)),
        warnings=tuple(sorted((f for f in out.findings if f.severity == "warning"), key=key)),
        documents=n_docs,
        faq_entries=n_faq,
        support_method=method,
    )


def _check_document(doc: Document, lines: _Lines, today: dt.date, out: _Collector) -> None:
    path = doc.path
    fm_end = doc.body_line
    unknown = [t for t in doc.topics if t not in TOPICS]
    if unknown:
        out.error("topic", path, lines.key("topics", 1, fm_end), f"unknown topic(s) {', '.join(map(repr, unknown))}; use the vocabulary in corpus/README.md")

    urls = [(doc.source_url, doc.source_org, lines.key("source_url", 1, fm_end))]
    urls += [(s.url, s.org, lines.find(s.url, 1, fm_end) or lines.find(f"org: {s.org}", 1, fm_end)) for s in doc.additional_sources]
    seen_urls: set[str] = set()
    for url, org, line in urls:
        problem = check_url(url)
        if problem:
            out.error("url", path, line, problem)
            continue
        weak = weak_domain(url, org)
        if weak:
            out.warn("weak-source", path, line, f"source {org!r}: {weak}")
        if url in seen_urls:
            out.warn("duplicate-source", path, line, f"URL {url!r} is listed twice")
        seen_urls.add(url)

    reviewed_line = lines.key("reviewed", 1, fm_end)
    if doc.reviewed > today:
        out.error("reviewed-date", path, reviewed_line, f"reviewed date {doc.reviewed} is in the future (today is {today})")
    elif (today - doc.reviewed).days > STALE_AFTER_DAYS:
        out.warn("reviewed-date", path, reviewed_line, f"reviewed {doc.reviewed}, more than 12 months ago; re-check the facts and update 'reviewed'")
    if doc.published and doc.published > today:
        out.error("published-date", path, lines.key("published", 1, fm_end), f"published date {doc.published} is in the future (today is {today})")
    for s in doc.additional_sources:
        if s.date > today:
            out.error("published-date", path, lines.find(s.url, 1, fm_end), f"source {s.org!r} has a date in the future ({s.date})")

    words = body_word_count(doc)
    if not MIN_WORDS <= words <= MAX_WORDS:
        out.error("length", path, doc.body_line, f"the body has {words} words; documents need {MIN_WORDS}–{MAX_WORDS:,}")
    body_lines = doc.body.splitlines()
    first = next((ln for ln in body_lines if ln.strip()), "")
    if not first.startswith("# "):
        out.warn("structure", path, doc.body_line, "the body should start with a '# Title' heading")
    if not any(ln.startswith("## ") for ln in body_lines):
        out.warn("structure", path, doc.body_line, "the body has no '## ' sections; the chunker splits by section")

    for sentence, line in _body_sentences(doc, lines):
        hits = dosing_instruction(sentence)
        if hits:
            out.error("dosing", path, line, f"sentence reads as dosing instruction ({', '.join(hits)}): {sentence!r}")
        if _MARKER.search(sentence):
            out.warn("citation-marker", path, line, f"documents must not contain [n] markers: {sentence!r}")
        if _PRONOUN_START.match(sentence):
            out.warn("not-standalone", path, line, f"sentence starts with a pronoun and will not stand alone when quoted: {sentence!r}")


def _check_faq_entry(entry: FaqEntry, lines: _Lines, line: int | None, documents: dict[str, Document], out: _Collector) -> None:
    path = entry.path
    if not entry.id.startswith("faq-"):
        out.error("faq-id", path, line, f"FAQ id {entry.id!r} must start with 'faq-'")
    n = len(entry.questions)
    if not MIN_PHRASINGS <= n <= MAX_PHRASINGS:
        out.error("faq-phrasings", path, lines.key("questions", line or 1) or line, f"FAQ {entry.id!r} has {n} phrasing(s); give {MIN_PHRASINGS}–{MAX_PHRASINGS}")
    answer_line = lines.key("answer", line or 1) or line
    sentences = split_sentences(entry.answer)
    if not MIN_ANSWER_SENTENCES <= len(sentences) <= MAX_ANSWER_SENTENCES:
        out.error("faq-answer-length", path, answer_line, f"FAQ {entry.id!r} answer has {len(sentences)} sentence(s); give {MIN_ANSWER_SENTENCES}–{MAX_ANSWER_SENTENCES}")
    unknown = [s for s in entry.source_ids if s not in documents]
    if unknown:
        out.error("unknown-source-id", path, lines.key("source_ids", line or 1) or line, f"FAQ {entry.id!r} cites unknown document id(s): {', '.join(unknown)}")
    for sentence in sentences:
        where = lines.sentence(sentence, answer_line or 1) or answer_line
        hits = dosing_instruction(sentence)
        if hits:
            out.error("dosing", path, where, f"FAQ {entry.id!r} answer reads as dosing instruction ({', '.join(hits)}): {sentence!r}")
        if _MARKER.search(sentence):
            out.error("citation-marker", path, where, f"FAQ {entry.id!r} answer must not contain [n] markers; citations are added automatically")
        if _PRONOUN_START.match(sentence):
            out.warn("not-standalone", path, where, f"FAQ {entry.id!r}: sentence starts with a pronoun: {sentence!r}")


def _check_source_consistency(documents: list[Document], doc_lines: dict[str, "_Lines"], out: _Collector) -> None:
    """Warn when one URL is cited with different titles or dates (SOURCES.md can show only one)."""
    first: dict[str, tuple[str, str, dt.date]] = {}
    for doc in sorted(documents, key=lambda d: d.id):
        for s in doc.additional_sources:
            seen = first.setdefault(s.url, (doc.id, s.title, s.date))
            if (s.title, s.date) != seen[1:]:
                what = "title" if s.title != seen[1] else "date"
                out.warn(
                    "inconsistent-source", doc.path, doc_lines[doc.id].find(s.url),
                    f"{s.url} is cited with a different {what} than in {seen[0]} ({seen[1]!r}, {seen[2]}); use one",
                )


def _check_duplicate_phrasings(entries: list[FaqEntry], out: _Collector) -> None:
    owner: dict[str, FaqEntry] = {}
    for entry in entries:
        lines = _Lines(entry.path)
        for q in entry.questions:
            key = _normal_question(q)
            first = owner.get(key)
            if first is None:
                owner[key] = entry
            elif first.id != entry.id:
                out.warn("duplicate-phrasing", entry.path, lines.find(q), f"phrasing {q!r} of {entry.id!r} duplicates one of {first.id!r}")
            else:
                out.warn("duplicate-phrasing", entry.path, lines.find(q), f"phrasing {q!r} is repeated within {entry.id!r}")


def _check_near_duplicate_phrasings(entries: list[FaqEntry], out: _Collector, embed) -> None:
    """Warn when phrasings of two different entries mean nearly the same (the FAQ matcher cannot tell them apart)."""
    phrasings = [(e, q) for e in entries for q in e.questions]
    if len(phrasings) < 2:
        return
    vectors = np.asarray(embed([q for _, q in phrasings]))
    sims = vectors @ vectors.T
    for a in range(len(phrasings)):
        for b in range(a + 1, len(phrasings)):
            (ea, qa), (eb, qb) = phrasings[a], phrasings[b]
            if ea.id != eb.id and sims[a, b] >= NEAR_DUPLICATE_PHRASING and _normal_question(qa) != _normal_question(qb):
                out.warn(
                    "near-duplicate-phrasing", eb.path, _Lines(eb.path).find(qb),
                    f"phrasing {qb!r} of {eb.id!r} means nearly the same as {qa!r} of {ea.id!r} "
                    f"(similarity {sims[a, b]:.2f}); the FAQ matcher cannot tell them apart",
                )


def _check_faq_support(entries: list[FaqEntry], documents: dict[str, Document], out: _Collector, embed) -> None:
    """Warn on FAQ answer sentences that no passage of their source documents clearly supports."""
    pending = []
    for entry in entries:
        docs = [documents[s] for s in entry.source_ids if s in documents]
        if not docs:
            continue
        lines = _Lines(entry.path)
        start = lines.entry(entry.id) or 1
        for sentence in split_sentences(entry.answer):
            pending.append((entry, sentence, docs, lines.sentence(sentence, start) or start))
    if not pending:
        return
    if embed is None:
        cache: dict[str, list[str]] = {}
        for entry, sentence, docs, line in pending:
            passages = [p for d in docs for p in cache.setdefault(d.id, _doc_passages(d))]
            score = lexical_support(sentence, passages)
            if score < WEAK_LEXICAL_SUPPORT:
                out.warn("weak-support", entry.path, line, f"FAQ {entry.id!r}: only {score:.0%} of the words of {sentence!r} appear in any passage of {', '.join(d.id for d in docs)}")
        return
    doc_sents = {d.id: [s for s, _ in _body_sentences(d, _Lines(d.path))] for d in {d.id: d for _, _, ds, _ in pending for d in ds}.values()}
    texts = sorted({s for sents in doc_sents.values() for s in sents} | {s for _, s, _, _ in pending})
    vectors = dict(zip(texts, embed(texts)))
    for entry, sentence, docs, line in pending:
        pool = [vectors[s] for d in docs for s in doc_sents[d.id]]
        if not pool:
            continue
        score = float(np.max(np.stack(pool) @ vectors[sentence]))
        if score < WEAK_SEMANTIC_SUPPORT:
            out.warn("weak-support", entry.path, line, f"FAQ {entry.id!r}: best supporting sentence in {', '.join(d.id for d in docs)} has similarity {score:.2f} for {sentence!r}")


def _doc_passages(doc: Document) -> list[str]:
    """Sentences and pairs of adjacent sentences (an answer sentence may merge two)."""
    sents = [s for s, _ in _body_sentences(doc, _Lines(doc.path))]
    return sents + [f"{a} {b}" for a, b in zip(sents, sents[1:])]


# -- SOURCES.md -------------------------------------------------------------------------

SOURCES_FILE = "SOURCES.md"


@dataclass(frozen=True)
class SourceUse:
    """One source (by URL) and the documents that rely on it."""

    url: str
    org: str
    title: str
    date: dt.date | None  # None: the source page shows no date
    documents: tuple[str, ...]
    primary_for: tuple[str, ...]


def collect_sources(documents: Sequence[Document]) -> list[SourceUse]:
    """Every source URL used by the documents, with the documents that use it."""
    found: dict[str, dict] = {}
    titles: dict[str, str] = {}
    for doc in documents:
        for s in doc.additional_sources:
            titles.setdefault(s.url, s.title)
    for doc in sorted(documents, key=lambda d: d.id):
        items = [(doc.source_url, doc.source_org, titles.get(doc.source_url, ""), doc.published or None, True)]
        items += [(s.url, s.org, s.title, s.date, False) for s in doc.additional_sources]
        for url, org, title, date, primary in items:
            rec = found.setdefault(url, {"org": org, "title": title, "date": date, "docs": [], "primary": []})
            rec["date"] = rec["date"] or date
            if primary:  # the primary citation's wording wins
                rec["org"] = org
            rec["title"] = rec["title"] or title
            if doc.id not in rec["docs"]:
                rec["docs"].append(doc.id)
            if primary:
                rec["primary"].append(doc.id)
    return sorted(
        (SourceUse(url, r["org"], r["title"], r["date"], tuple(r["docs"]), tuple(r["primary"])) for url, r in found.items()),
        key=lambda s: (fold(s.org), s.url),
    )


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_sources(documents: Sequence[Document]) -> str:
    """The text of corpus/SOURCES.md (deterministic: no timestamps, sorted)."""
    sources = collect_sources(documents)
    lines = [
        "# Sources",
        "",
        "Every source the corpus relies on, generated from the documents' front matter by",
        "`kratom-bot corpus sources`. Do not edit by hand: `kratom-bot corpus check` fails when",
        "this file is out of date. **Bold** document ids use the source as their primary source.",
        "",
        f"{len(sources)} sources used by {len(documents)} documents.",
        "",
        "| organisation | title | date | URL | used by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in sources:
        used = ", ".join(f"**{d}**" if d in s.primary_for else d for d in s.documents)
        title = _md(s.title) if s.title else "(primary source; see the documents)"
        date = s.date.isoformat() if s.date else "undated"
        lines.append(f"| {_md(s.org)} | {title} | {date} | <{s.url}> | {used} |")
    return "\n".join(lines) + "\n"


def write_sources(corpus_dir: Path | str) -> Path:
    """Regenerate corpus/SOURCES.md from the documents; returns its path."""
    from .corpus import load_corpus

    corpus_dir = Path(corpus_dir)
    corpus = load_corpus(corpus_dir)
    path = corpus_dir / SOURCES_FILE
    path.write_text(render_sources(corpus.documents), encoding="utf-8")
    return path


def _check_sources_file(corpus_dir: Path, documents: list[Document], out: _Collector) -> None:
    path = corpus_dir / SOURCES_FILE
    want = render_sources(documents).splitlines()
    if not path.exists():
        out.error("sources-file", path, None, "SOURCES.md is missing; run `kratom-bot corpus sources`")
        return
    try:
        have = read_text(path).splitlines()
    except CorpusError as exc:
        out.error("sources-file", path, exc.line, exc.problem)
        return
    if have != want:
        line = next((i + 1 for i, (a, b) in enumerate(zip(have, want)) if a != b), min(len(have), len(want)) + 1)
        out.error("sources-file", path, line, "SOURCES.md is out of date with the documents; run `kratom-bot corpus sources`")


# -- command line -----------------------------------------------------------------------


def register(sub) -> None:
    """Add the `corpus` subcommand (check, sources) to the CLI."""
    p = sub.add_parser("corpus", help="check the corpus or regenerate corpus/SOURCES.md")
    csub = p.add_subparsers(dest="corpus_command", required=True)
    c = csub.add_parser("check", help="validate documents, FAQ and SOURCES.md (exit 1 on errors)")
    c.add_argument("--dir", help="corpus folder (default: KRATOMBOT_CORPUS_DIR)")
    c.add_argument("--semantic", action="store_true", help="measure FAQ answer support with the embedding model")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(func=cmd_check)
    s = csub.add_parser("sources", help="regenerate corpus/SOURCES.md")
    s.add_argument("--dir", help="corpus folder (default: KRATOMBOT_CORPUS_DIR)")
    s.set_defaults(func=cmd_sources)


def _corpus_dir(args) -> Path:
    if args.dir:
        return Path(args.dir)
    from .settings import load_settings

    return load_settings().corpus_dir


def cmd_check(args) -> int:
    """`kratom-bot corpus check`: print findings; exit 1 on errors (or warnings with --strict)."""
    embed = None
    if args.semantic:
        from .embedding import make_embedder
        from .settings import load_settings

        settings = load_settings()
        embedder = make_embedder(settings.embedding_model, settings.embedding_batch_size)
        embed = embedder.embed
    report = check_corpus(_corpus_dir(args), embed=embed)
    if args.json:
        print(json.dumps(report.to_json_dict(), indent=2, ensure_ascii=False))
    else:
        for f in (*report.errors, *report.warnings):
            print(f, file=sys.stderr if f.severity == "error" else sys.stdout)
        print(f"corpus check ({report.support_method} support): {report.summary()}")
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    return 1 if failed else 0


def cmd_sources(args) -> int:
    """`kratom-bot corpus sources`: regenerate SOURCES.md."""
    path = write_sources(_corpus_dir(args))
    rows = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| ") and not line.startswith("| ---"))
    print(f"wrote {path} ({rows - 1} sources)")
    return 0
