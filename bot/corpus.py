"""Corpus loading: Markdown documents with YAML front matter, and FAQ YAML files."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from .errors import CorpusError
from .schema import EVIDENCE_TYPES, AdditionalSource, Corpus, Document, FaqEntry

# libyaml's parser when PyYAML was built with it (about 10x faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_load(text: str):
    return yaml.load(text, Loader=_LOADER)


REQUIRED_FIELDS = ("id", "title", "source_org", "source_url", "published", "reviewed", "evidence", "topics")
OPTIONAL_FIELDS = ("jurisdiction", "additional_sources", "accessed")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")


def read_text(path: Path) -> str:
    """Read a UTF-8 file, turning decoding and I/O problems into CorpusError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(path, "file not found") from None
    except OSError as exc:
        raise CorpusError(path, f"cannot read file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(
            path, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8", line
        ) from None
    return text.removeprefix("\ufeff")


def _as_date(path: Path, field: str, value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CorpusError(path, f"field '{field}' must be a date like 2026-01-31, got {value!r}")


def split_front_matter(path: Path, text: str) -> tuple[dict, str, int]:
    """Split ``---`` YAML front matter from the Markdown body.

    Returns the parsed mapping, the body and the 1-based line where the body starts.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CorpusError(path, "missing YAML front matter: the file must start with a line '---'", 1)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise CorpusError(path, "front matter is not closed: add a line '---' after the YAML block", 1)
    try:
        meta = _yaml_load("".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CorpusError(path, f"front matter is not valid YAML ({problem})", line) from None
    if not isinstance(meta, dict):
        raise CorpusError(path, f"front matter must be a mapping of fields, got {type(meta).__name__}", 2)
    return meta, "".join(lines[end + 1 :]), end + 2


def parse_document(path: Path, text: str | None = None) -> Document:
    """Parse one corpus document, raising CorpusError that names the file and problem."""
    text = read_text(path) if text is None else text
    meta, body, body_line = split_front_matter(path, text)
    missing = [f for f in REQUIRED_FIELDS if meta.get(f) in (None, "", [])]
    if missing:
        raise CorpusError(path, f"front matter is missing required field(s): {', '.join(missing)}")
    unknown = sorted(set(meta) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise CorpusError(path, f"front matter has unknown field(s): {', '.join(unknown)}")
    doc_id = str(meta["id"])
    if not ID_RE.match(doc_id):
        raise CorpusError(path, f"id {doc_id!r} must be lowercase letters, digits and hyphens")
    if doc_id != path.stem:
        raise CorpusError(path, f"id {doc_id!r} does not match the file name {path.name!r}")
    if meta["evidence"] not in EVIDENCE_TYPES:
        raise CorpusError(path, f"evidence {meta['evidence']!r} is not one of: {', '.join(EVIDENCE_TYPES)}")
    topics = meta["topics"]
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise CorpusError(path, f"topics must be a list of strings, got {meta['topics']!r}")
    extra = meta.get("additional_sources") or []
    if not isinstance(extra, list):
        raise CorpusError(path, "additional_sources must be a list of {org, title, url, date}")
    sources = []
    for i, item in enumerate(extra, 1):
        if not isinstance(item, dict):
            raise CorpusError(path, f"additional_sources item {i} must be a mapping, got {item!r}")
        try:
            sources.append(
                AdditionalSource(
                    org=str(item.get("org", "")),
                    title=str(item.get("title", "")),
                    url=str(item.get("url", "")),
                    date=_as_date(path, f"additional_sources[{i}].date", item.get("date")),
                )
            )
        except ValidationError as exc:
            raise CorpusError(path, f"additional_sources item {i} is invalid: {exc.errors()[0]['msg']}") from None
        if not all((sources[-1].org, sources[-1].title, sources[-1].url)):
            raise CorpusError(path, f"additional_sources item {i} needs org, title and url")
    if not body.strip():
        raise CorpusError(path, "the document has no body text after the front matter")
    published = meta["published"]
    if isinstance(published, str) and published.strip().lower() == "unknown":
        if not meta.get("accessed"):
            raise CorpusError(path, "published is 'unknown', so 'accessed' must give the date the source was read")
        published = None
    else:
        published = _as_date(path, "published", published)
    return Document(
        id=doc_id,
        title=str(meta["title"]),
        source_org=str(meta["source_org"]),
        source_url=str(meta["source_url"]).strip(),
        published=published,
        accessed=_as_date(path, "accessed", meta["accessed"]) if meta.get("accessed") else None,
        reviewed=_as_date(path, "reviewed", meta["reviewed"]),
        evidence=str(meta["evidence"]),
        topics=tuple(topics),
        jurisdiction=str(meta["jurisdiction"]) if meta.get("jurisdiction") else None,
        additional_sources=tuple(sources),
        body=body,
        path=path,
        body_line=body_line,
    )


def parse_faq_file(path: Path) -> list[FaqEntry]:
    """Parse one FAQ YAML file (a list of entries)."""
    text = read_text(path)
    try:
        data = _yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CorpusError(path, f"not valid YAML ({problem})", mark.line + 1 if mark else None) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise CorpusError(path, "an FAQ file must be a YAML list of entries")
    entries = []
    for i, item in enumerate(data, 1):
        where = f"entry {i}" + (f" ({item.get('id')!r})" if isinstance(item, dict) and item.get("id") else "")
        if not isinstance(item, dict):
            raise CorpusError(path, f"{where} must be a mapping with id, questions, answer, source_ids")
        missing = [k for k in ("id", "questions", "answer", "source_ids") if not item.get(k)]
        if missing:
            raise CorpusError(path, f"{where} is missing: {', '.join(missing)}")
        questions = item["questions"]
        source_ids = item["source_ids"]
        if isinstance(source_ids, str):
            source_ids = [source_ids]
        if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
            raise CorpusError(path, f"{where}: questions must be a list of non-empty strings")
        if not isinstance(source_ids, list) or not all(isinstance(s, str) for s in source_ids):
            raise CorpusError(path, f"{where}: source_ids must be a list of document ids")
        if not isinstance(item["answer"], str):
            raise CorpusError(path, f"{where}: answer must be text")
        entries.append(
            FaqEntry(
                id=str(item["id"]),
                questions=tuple(q.strip() for q in questions),
                answer=" ".join(item["answer"].split()),
                source_ids=tuple(source_ids),
                path=path,
            )
        )
    return entries


def load_corpus(corpus_dir: Path) -> Corpus:
    """Load every document in ``docs/`` and every FAQ file in ``faq/``.

    Raises CorpusError naming the file for missing folders, malformed files, duplicate ids
    and FAQ entries citing unknown documents.
    """
    corpus_dir = Path(corpus_dir)
    docs_dir = corpus_dir / "docs"
    if not docs_dir.is_dir():
        raise CorpusError(docs_dir, "corpus folder not found (set KRATOMBOT_CORPUS_DIR to the corpus folder)")
    documents: list[Document] = []
    seen: dict[str, Path] = {}
    for path in sorted(docs_dir.glob("*.md")):
        doc = parse_document(path)
        if doc.id in seen:
            raise CorpusError(path, f"duplicate id {doc.id!r}, already used by {seen[doc.id].name}")
        seen[doc.id] = path
        documents.append(doc)
    if not documents:
        raise CorpusError(docs_dir, "no documents (*.md) found")
    faq: list[FaqEntry] = []
    faq_seen: dict[str, Path] = {}
    faq_dir = corpus_dir / "faq"
    if faq_dir.is_dir():
        for path in sorted(list(faq_dir.glob("*.yaml")) + list(faq_dir.glob("*.yml"))):
            for entry in parse_faq_file(path):
                if entry.id in faq_seen:
                    raise CorpusError(path, f"duplicate FAQ id {entry.id!r}, already used in {faq_seen[entry.id].name}")
                unknown = [s for s in entry.source_ids if s not in seen]
                if unknown:
                    raise CorpusError(path, f"FAQ entry {entry.id!r} cites unknown document id(s): {', '.join(unknown)}")
                faq_seen[entry.id] = path
                faq.append(entry)
    return Corpus(documents=tuple(documents), faq=tuple(faq))


def corpus_fingerprint(corpus: Corpus) -> str:
    """A hash of every document and FAQ entry; changes whenever the corpus does."""
    h = hashlib.sha256()
    for doc in corpus.documents:
        h.update(doc.model_dump_json(exclude={"path", "body_line"}).encode())
    for entry in corpus.faq:
        h.update(entry.model_dump_json(exclude={"path"}).encode())
    return h.hexdigest()[:16]
