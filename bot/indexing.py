"""Indexing: chunk the corpus, embed what is new, and publish a complete build atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .chunking import Chunker, embedding_text
from .corpus import corpus_fingerprint
from .embedding import Embedder
from .errors import SearchIndexError
from .schema import Chunk, Corpus
from .store import SCHEMA_VERSION, Build, EmbeddedLayout, Layout, Record, new_version
from .text import content_words, split_sentences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexStatus:
    """Whether the active index matches the corpus and model."""

    state: str  # missing | stale | fresh
    reason: str
    manifest: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    version: str
    chunks: int
    sentences: int
    faq_questions: int
    new_chunks: int
    reused_chunks: int
    removed_chunks: int
    embedded_texts: int
    seconds: float


def _evidence_terms(sentence: str) -> tuple[set[str], set[str]]:
    """A sentence's numbers and content words."""
    return set(re.findall(r"\d+(?:[.,]\d+)?", sentence)), content_words(sentence)


def _evidence_overlap(
    sentence: str, passage: str, passage_words: set[str] | None = None, terms: tuple[set[str], set[str]] | None = None
) -> float:
    """Share of a sentence's numbers (counted twice) and content words that occur in a passage."""
    numbers, words = terms or _evidence_terms(sentence)
    if not numbers and not words:
        return 0.0
    if passage_words is None:
        passage_words = content_words(passage)
    found = 2 * sum(n in passage for n in numbers) + len(words & passage_words)
    return found / (2 * len(numbers) + len(words))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chunk_metadata(corpus: Corpus, chunk: Chunk) -> dict:
    """Metadata stored with a chunk so that retrieval results carry their citation."""
    doc = corpus.document(chunk.doc_id)
    return {
        "doc_id": chunk.doc_id,
        "title": doc.title,
        "source_org": doc.source_org,
        "source_url": doc.source_url,
        "published": doc.published.isoformat() if doc.published else "",
        "evidence": doc.evidence,
        "topics": ",".join(doc.topics),
        "heading_path": " > ".join(chunk.heading_path),
        "position": chunk.position,
        "content_hash": chunk.content_hash,
        "n_sentences": len(chunk.sentences),
    }


class IndexBuilder:
    """Builds versions of the search index and reports whether the active one is fresh."""

    def __init__(self, layout: Layout, embedder: Embedder, chunker: Chunker):
        self.layout = layout
        self.embedder = embedder
        self.chunker = chunker

    def expected_manifest_keys(self, corpus: Corpus) -> dict:
        """The manifest values that must match for the index to be fresh."""
        return {
            "schema": SCHEMA_VERSION,
            "corpus_fingerprint": corpus_fingerprint(corpus),
            "embedding_model": self.embedder.name,
            "dim": self.embedder.dim,
            "chunk_max_chars": self.chunker.max_chars,
        }

    def status(self, corpus: Corpus) -> IndexStatus:
        """Compare the active build's manifest with the corpus and settings."""
        try:
            build = self.layout.active()
        except SearchIndexError as exc:
            return IndexStatus("missing", str(exc))
        if build is None:
            return IndexStatus("missing", f"no index has been built yet in the {self.layout.describe()}")
        for key, want in self.expected_manifest_keys(corpus).items():
            have = build.manifest.get(key)
            if have != want:
                return IndexStatus("stale", f"index {key} is {have!r}, expected {want!r}", build.manifest)
        return IndexStatus("fresh", f"index {build.version} matches the corpus", build.manifest)

    def build(self, corpus: Corpus, *, full: bool = False) -> BuildReport:
        """Build a new version, reusing embeddings of unchanged content, then switch to it.

        ``full=True`` ignores the previous build and re-embeds everything. A crash at any
        point leaves the previous version active.
        """
        started = time.perf_counter()
        with self._lock():
            previous = None
            if not full:
                try:
                    previous = self.layout.active()
                except SearchIndexError as exc:
                    log.warning("previous index unusable, building from scratch: %s", exc)
                if previous is not None and (
                    previous.manifest.get("embedding_model") != self.embedder.name
                    or previous.manifest.get("schema") != SCHEMA_VERSION
                ):
                    previous = None  # vectors of another model or index schema cannot be reused
            known = self._known_vectors(previous)

            chunks = [c for doc in corpus.documents for c in self.chunker.split(doc)]
            old_hashes = set(known.get("chunk_hashes", set()))
            chunk_texts = {c.id: embedding_text(corpus.document(c.doc_id).title, c) for c in chunks}
            sentences = [(c, i, s) for c in chunks for i, s in enumerate(c.sentences)]
            faq_questions = [(e, i, q) for e in corpus.faq for i, q in enumerate(e.questions)]
            faq_answers = [(e, split_sentences(e.answer)) for e in corpus.faq]

            wanted = list(chunk_texts.values()) + [s for _, _, s in sentences] + [q for _, _, q in faq_questions]
            wanted += [s for _, sents in faq_answers for s in sents]
            vectors, embedded = self._embed_missing(wanted, known["by_text"])

            version = new_version()
            build = self.layout.begin(version)
            try:
                build.add(
                    "chunks",
                    [
                        Record(
                            c.id,
                            c.text,
                            {**chunk_metadata(corpus, c), "embed_hash": _sha(chunk_texts[c.id])},
                            vectors[_sha(chunk_texts[c.id])],
                        )
                        for c in chunks
                    ],
                )
                build.add(
                    "sentences",
                    [
                        Record(f"{c.id}#s{i}", s, {"chunk_id": c.id, "doc_id": c.doc_id, "i": i}, vectors[_sha(s)])
                        for c, i, s in sentences
                    ],
                )
                faq_records = [
                    Record(f"{e.id}#q{i}", q, {"kind": "question", "faq_id": e.id}, vectors[_sha(q)])
                    for e, i, q in faq_questions
                ]
                faq_records += self._faq_answer_records(faq_answers, sentences, vectors)
                if faq_records:
                    build.add("faq", faq_records)
                manifest = {
                    **self.expected_manifest_keys(corpus),
                    "version": version,
                    "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "app_version": __version__,
                    "documents": len(corpus.documents),
                    "faq_entries": len(corpus.faq),
                    "chunks": len(chunks),
                    "sentences": len(sentences),
                    "faq_questions": len(faq_questions),
                    "chunk_hashes_digest": _sha("".join(sorted(c.content_hash for c in chunks)))[:16],
                }
                # Only a complete version is ever published.
                build.verify({"chunks": len(chunks), "sentences": len(sentences), "faq": len(faq_records)})
                self.layout.commit(build, manifest)
            except BaseException:
                self.layout.abandon(build)
                raise
            self.layout.cleanup(keep=2)

        new_hashes = {c.content_hash for c in chunks}
        report = BuildReport(
            version=version,
            chunks=len(chunks),
            sentences=len(sentences),
            faq_questions=len(faq_questions),
            new_chunks=len(new_hashes - old_hashes),
            reused_chunks=len(new_hashes & old_hashes),
            removed_chunks=len(old_hashes - new_hashes),
            embedded_texts=embedded,
            seconds=round(time.perf_counter() - started, 3),
        )
        log.info("index build %s: %s", version, report)
        return report

    def _known_vectors(self, previous: Build | None) -> dict:
        """Embeddings of the previous build, keyed by the hash of the text they embed."""
        by_text: dict[str, np.ndarray] = {}
        chunk_hashes: set[str] = set()
        if previous is not None:
            try:
                for rec in previous.iter_all("chunks", embeddings=True):
                    text_hash = rec.metadata.get("embed_hash")
                    chunk_hashes.add(rec.metadata.get("content_hash", ""))
                    if text_hash:
                        by_text[text_hash] = rec.embedding
                for rec in previous.iter_all("sentences", embeddings=True):
                    by_text[_sha(rec.text)] = rec.embedding
                for rec in previous.iter_all("faq", embeddings=True):
                    if rec.metadata.get("kind") in ("question", "answer_sentence"):
                        by_text[_sha(rec.text)] = rec.embedding
            except Exception as exc:  # a damaged previous build only costs re-embedding
                log.warning("could not reuse embeddings of the previous index: %s", exc)
                by_text, chunk_hashes = {}, set()
        return {"by_text": by_text, "chunk_hashes": chunk_hashes}

    def _embed_missing(self, texts: list[str], known: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        vectors = dict(known)
        missing = list(dict.fromkeys(t for t in texts if _sha(t) not in vectors))
        if missing:
            for text, vec in zip(missing, self.embedder.embed(missing)):
                vectors[_sha(text)] = vec
        return vectors, len(missing)

    def _faq_answer_records(self, faq_answers, sentences, vectors) -> list[Record]:
        """For each FAQ answer sentence, the chunk of its source documents that supports it best.

        Support is the best sentence similarity within the chunk, plus the share of the
        answer sentence's numbers and content words found in the chunk, so a sentence
        with figures is cited to the passage that actually contains them.
        """
        by_doc: dict[str, list[tuple[str, np.ndarray]]] = {}
        chunk_text: dict[str, str] = {}
        chunk_words: dict[str, set[str]] = {}
        for chunk, _, sent in sentences:
            by_doc.setdefault(chunk.doc_id, []).append((chunk.id, vectors[_sha(sent)]))
            chunk_text[chunk.id] = chunk.text
        records = []
        for entry, answer_sents in faq_answers:
            pool = [item for doc_id in entry.source_ids for item in by_doc.get(doc_id, [])]
            support = []
            for sent in answer_sents:
                vec = vectors[_sha(sent)]
                if pool:
                    sims = np.stack([v for _, v in pool]) @ vec
                    best_by_chunk: dict[str, float] = {}
                    for (cid, _), sim in zip(pool, sims):
                        best_by_chunk[cid] = max(best_by_chunk.get(cid, -1.0), float(sim))
                    for cid in best_by_chunk:  # each chunk's words once, not once per answer sentence
                        if cid not in chunk_words:
                            chunk_words[cid] = content_words(chunk_text[cid])
                    terms = _evidence_terms(sent)
                    scored = {
                        cid: sim + 0.15 * _evidence_overlap(sent, chunk_text[cid], chunk_words[cid], terms)
                        for cid, sim in best_by_chunk.items()
                    }
                    best = max(scored, key=scored.get)
                    support.append({"sentence": sent, "chunk_id": best, "support": round(best_by_chunk[best], 4)})
                else:
                    support.append({"sentence": sent, "chunk_id": None, "support": 0.0})
            records += [
                Record(f"{entry.id}#a{i}", sent, {"kind": "answer_sentence", "faq_id": entry.id, "i": i}, vectors[_sha(sent)])
                for i, sent in enumerate(answer_sents)
            ]
            mean = np.mean([vectors[_sha(s)] for s in answer_sents], axis=0) if answer_sents else np.zeros(self.embedder.dim)
            norm = np.linalg.norm(mean)
            records.append(
                Record(
                    f"{entry.id}#answer",
                    entry.answer,
                    {"kind": "answer", "faq_id": entry.id, "support": json.dumps(support), "sources": ",".join(entry.source_ids)},
                    (mean / norm if norm else mean).astype(np.float32),
                )
            )
        return records

    @contextlib.contextmanager
    def _lock(self):
        """One build at a time per index (a file lock for an index folder, a lock collection on a Chroma server)."""
        lock = getattr(self.layout, "lock", None)
        if lock is None:
            yield
            return
        with lock():
            yield
