"""Answer composition without an LLM: quote the best-supported sentences, cite each one.

Sentence embeddings were computed at index time, so composing costs a few dot products.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .retrieval import lexical_overlap, to_retrieved
from .schema import Citation, RetrievedChunk, SentenceTrace
from .store import Build
from .text import split_sentences


@dataclass(frozen=True)
class Draft:
    """An answer before the output guard: text with [n] markers, its citations and trace."""

    text: str
    citations: tuple[Citation, ...]
    sentences: tuple[SentenceTrace, ...] = ()
    source: str = "documents"  # documents | faq | none
    detail: dict = field(default_factory=dict)
    topics: frozenset[str] = frozenset()


def citation_for(n: int, chunks: list[RetrievedChunk]) -> Citation:
    """A numbered citation of one source document and the chunks of it that were used."""
    first = chunks[0]
    return Citation(
        n=n,
        source_id=first.doc_id,
        title=first.source.title,
        source_org=first.source.source_org,
        url=first.source.url,
        published=first.source.published,
        evidence=first.source.evidence,
        chunk_id=first.chunk_id,
        chunk_ids=tuple(c.chunk_id for c in chunks),
        passage=" … ".join(c.text for c in chunks),
    )


def assemble(pieces: list[tuple[str, RetrievedChunk, float]]) -> tuple[str, tuple[Citation, ...], tuple[SentenceTrace, ...]]:
    """Join (sentence, chunk, support) pieces into text with [n] markers, one number per source document."""
    numbers: dict[str, int] = {}
    used: dict[str, list[RetrievedChunk]] = {}
    traces: list[SentenceTrace] = []
    paragraphs: list[list[str]] = []
    last_doc = None
    for sentence, chunk, support in pieces:
        if chunk.doc_id not in numbers:
            numbers[chunk.doc_id] = len(numbers) + 1
            used[chunk.doc_id] = []
        if all(c.chunk_id != chunk.chunk_id for c in used[chunk.doc_id]):
            used[chunk.doc_id].append(chunk)
        n = numbers[chunk.doc_id]
        body = sentence.rstrip()
        if body and body[-1] in ".!?":
            marked = f"{body[:-1]} [{n}]{body[-1]}"
        else:
            marked = f"{body} [{n}]"
        if chunk.doc_id != last_doc:
            paragraphs.append([])
            last_doc = chunk.doc_id
        paragraphs[-1].append(marked)
        traces.append(SentenceTrace(sentence=sentence, chunk_id=chunk.chunk_id, citation=n, support=round(support, 4)))
    text = "\n\n".join(" ".join(p) for p in paragraphs)
    citations = tuple(citation_for(numbers[doc_id], chunks) for doc_id, chunks in used.items())
    return text, citations, tuple(traces)


class ExtractiveComposer:
    """Selects, orders and cites sentences from the retrieved chunks."""

    def __init__(self, max_sentences: int = 5, min_score: float = 0.25, diversity: float = 0.7, relative_cutoff: float = 0.2, chunk_margin: float = 0.18):
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.diversity = diversity
        self.relative_cutoff = relative_cutoff
        self.chunk_margin = chunk_margin

    def compose(self, build: Build, query_vec: np.ndarray, query_text: str, chunks: list[RetrievedChunk]) -> Draft:
        """Compose a cited answer from the chunks; an empty draft when nothing qualifies."""
        if not chunks:
            return Draft("", (), source="none")
        # Quote only from passages within a cosine margin of the best one; retrieval keeps
        # the rest for recall. An absolute margin (not a ratio) because dense scores are
        # cosines: a ratio let loosely related passages pad follow-up answers.
        best = max(c.score for c in chunks)
        chunks = [c for c in chunks if c.score >= best - self.chunk_margin]
        by_id = {c.chunk_id: c for c in chunks}
        rank = {c.chunk_id: i for i, c in enumerate(chunks)}
        # By id (the indexer names sentences "<chunk id>#s<i>"): a primary-key lookup, where a
        # metadata filter scans the whole sentence collection.
        ids = [f"{cid}#s{i}" for cid, c in by_id.items() for i in range(len(split_sentences(c.text)))]
        records = [r for r in build.get("sentences", ids=ids) if r.metadata.get("chunk_id") in by_id]
        candidates = []
        for rec in records:
            words = rec.text.split()
            if len(words) < 5 or rec.text.rstrip().endswith("?") or rec.embedding is None:
                continue
            chunk = by_id[rec.metadata["chunk_id"]]
            sim = float(np.dot(rec.embedding, query_vec))
            score = sim + 0.15 * chunk.score + 0.15 * lexical_overlap(query_text, rec.text)
            candidates.append((score, sim, rec, chunk))
        candidates.sort(key=lambda c: -c[0])
        chosen: list[tuple[float, float, object, RetrievedChunk]] = []
        # Keep sentences near the best one, so a weakly related passage does not pad the answer.
        floor = max(self.min_score, candidates[0][0] - self.relative_cutoff) if candidates else self.min_score
        pool = [c for c in candidates if c[0] >= floor]
        while pool and len(chosen) < self.max_sentences:
            best_i, best_val = 0, -9.0
            for i, cand in enumerate(pool):
                redundancy = max((float(np.dot(cand[2].embedding, c[2].embedding)) for c in chosen), default=0.0)
                value = self.diversity * cand[0] - (1 - self.diversity) * redundancy
                if redundancy > 0.92:
                    value = -9.0
                if value > best_val:
                    best_i, best_val = i, value
            if best_val <= -9.0:
                break
            chosen.append(pool.pop(best_i))
        if not chosen:
            return Draft("", (), source="none", detail={"candidates": len(candidates)})
        # Reading order: documents in retrieval order, sentences in their original order.
        doc_rank: dict[str, int] = {}
        for c in chunks:
            doc_rank.setdefault(c.doc_id, rank[c.chunk_id])
        chosen.sort(key=lambda c: (doc_rank[c[3].doc_id], rank[c[3].chunk_id], c[2].metadata.get("i", 0)))
        text, citations, traces = assemble([(c[2].text, c[3], c[1]) for c in chosen])
        topics = frozenset(t for c in chosen for t in c[3].source.topics)
        return Draft(text, citations, traces, "documents", {"candidates": len(candidates)}, topics)


@dataclass(frozen=True)
class FaqMatch:
    """The closest FAQ phrasing to a question."""

    faq_id: str
    question: str
    similarity: float


class FaqAnswerer:
    """Prefers a curated FAQ answer when the question closely matches one of its phrasings."""

    def __init__(self, threshold: float = 0.8):
        self.threshold = threshold

    def match(self, build: Build, query_vec: np.ndarray) -> FaqMatch | None:
        """The best-matching phrasing, whatever its score (None when there is no FAQ)."""
        if build.count("faq") == 0:
            return None
        hits = build.query("faq", query_vec, 1, where={"kind": "question"})
        if not hits:
            return None
        hit = hits[0]
        return FaqMatch(hit.record.metadata["faq_id"], hit.record.text, hit.similarity)

    def answer(self, build: Build, match: FaqMatch, query_text: str = "") -> Draft | None:
        """The curated answer with each sentence cited to the passage that supports it best."""
        records = build.get("faq", ids=[f"{match.faq_id}#answer"], embeddings=False)
        if not records:
            return None
        support = json.loads(records[0].metadata.get("support", "[]"))
        chunk_ids = sorted({s["chunk_id"] for s in support if s.get("chunk_id")})
        if not chunk_ids:
            return None
        chunks = {rec.id: to_retrieved(rec, 1.0, 1.0, 0.0) for rec in build.get("chunks", chunk_ids)}
        pieces = [(s["sentence"], chunks[s["chunk_id"]], float(s.get("support", 0.0))) for s in support if s.get("chunk_id") in chunks]
        if not pieces:
            return None
        text, citations, traces = assemble(pieces)
        # A curated answer is one paragraph even when it cites several documents.
        text = " ".join(text.split("\n\n"))
        return Draft(
            text,
            citations,
            traces,
            source="faq",
            detail={"faq_id": match.faq_id, "matched_question": match.question, "similarity": round(match.similarity, 4)},
            topics=frozenset(t for _, chunk, _ in pieces for t in chunk.source.topics),
        )
