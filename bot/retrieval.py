"""Retrieval: conversation-aware query, dense top-k by cosine, optional BM25 fusion, threshold and de-duplication."""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .schema import Message, RetrievedChunk, Source
from .store import Build, Record
from .text import content_words, fold, tokens

_FOLLOWUP_START = re.compile(
    r"^(and|but|also|so|ok(ay)?|what about|how about|and what about|what if|same|then|right|y|e|et|und)\b", re.I
)
_ANAPHORA = re.compile(r"\b(it|that|this|those|these|them|there|one|ones|they|its|such|same|him|her|he|she)\b", re.I)


@dataclass(frozen=True)
class RetrievalQuery:
    """The text to search for and whether earlier turns were used to build it."""

    text: str
    last_turn: str
    used_context: bool


_TOPIC = re.compile(r"\b(kratom|kratum|ketum|mitragyn\w*|7-?oh|7-hydroxy\w*|speciosa)\b", re.I)


def is_followup(text: str) -> bool:
    """A short turn that leans on earlier ones ("and in Ohio?", "is that one dangerous?")."""
    stripped = text.strip().lstrip("¿¡-–—…. ")
    words = content_words(stripped)
    if len(words) > 7:
        return False
    if _FOLLOWUP_START.search(stripped):
        return True
    if _TOPIC.search(stripped):
        return False  # names its subject, so it stands on its own
    return bool(_ANAPHORA.search(stripped)) or len(words) <= 3


def _is_context_statement(text: str) -> bool:
    """A short statement about the user ("I'm pregnant.", "I take sertraline") that frames the next question."""
    stripped = text.strip()
    return not stripped.endswith("?") and len(content_words(stripped)) <= 5 and bool(
        re.match(r"^(i|i'm|im|i am|my|we|we're|mi|meu|minha|je|j'ai|mon|ma|ich|mein|meine|estoy|tengo|tomo|sou|estou)\b", stripped, re.I)
    )


def build_query(messages: Sequence[Message]) -> RetrievalQuery:
    """Resolve the latest user turn against earlier user turns when it is a follow-up."""
    users = [m.content for m in messages if m.role == "user"]
    last = users[-1] if users else ""
    if len(users) >= 2 and not is_followup(last) and _is_context_statement(users[-2]):
        # "I'm pregnant." then "Is it ok if I keep using kratom?": the statement is the context.
        return RetrievalQuery(f"{users[-2]} {last}", last, True)
    if len(users) < 2 or not is_followup(last):
        return RetrievalQuery(last, last, False)
    # Walk back to the nearest turn that stands on its own, keeping any follow-ups in between.
    context: list[str] = []
    for earlier in reversed(users[:-1]):
        context.insert(0, earlier)
        if not is_followup(earlier) or len(context) >= 3:
            break
    return RetrievalQuery(" ".join(context + [last]), last, True)


def source_from_metadata(meta: dict) -> Source:
    """A Source rebuilt from chunk metadata."""
    published = meta.get("published")
    return Source(
        id=meta.get("doc_id", ""),
        title=meta.get("title", ""),
        source_org=meta.get("source_org", ""),
        url=meta.get("source_url", ""),
        published=dt.date.fromisoformat(published) if published else None,
        evidence=meta.get("evidence", ""),
        topics=tuple(t for t in meta.get("topics", "").split(",") if t),
    )


def to_retrieved(rec: Record, score: float, dense: float, lexical: float) -> RetrievedChunk:
    """Convert a stored chunk record into the project's type."""
    meta = rec.metadata
    path = tuple(p for p in meta.get("heading_path", "").split(" > ") if p)
    return RetrievedChunk(
        chunk_id=rec.id,
        doc_id=meta.get("doc_id", ""),
        text=rec.text,
        heading_path=path,
        score=round(score, 4),
        dense_score=round(dense, 4),
        lexical_score=round(lexical, 4),
        source=source_from_metadata(meta),
    )


class LexicalIndex:
    """BM25 over every chunk of one build (bm25s, sparse), loaded once per build version."""

    def __init__(self, build: Build):
        import bm25s

        self.ids: list[str] = []
        corpus_tokens: list[list[str]] = []
        for rec in build.iter_all("chunks"):
            self.ids.append(rec.id)
            meta = rec.metadata
            corpus_tokens.append(tokens(f"{meta.get('title', '')} {meta.get('heading_path', '')} {rec.text}") or ["_"])
        self._bm25 = bm25s.BM25()
        self._bm25.index(self._as_ids(corpus_tokens), show_progress=False)

    def _as_ids(self, corpus_tokens: list[list[str]]):
        import bm25s

        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus_tokens]
        self._vocab = vocab
        return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """Top-k chunk ids with their BM25 scores normalised to [0, 1]."""
        query = [t for t in tokens(text) if t in self._vocab]
        if not query or not self.ids:
            return []
        scores = self._bm25.get_scores([self._vocab[t] for t in query])
        top = np.argsort(-scores)[:k]
        best = float(scores[top[0]]) if len(top) else 0.0
        if best <= 0:
            return []
        return [(self.ids[i], float(scores[i]) / best) for i in top if scores[i] > 0]


class Retriever:
    """Top-k chunks for a query embedding, with relevance threshold and de-duplication."""

    def __init__(
        self,
        top_k: int = 5,
        candidate_k: int = 12,
        min_relevance: float = 0.3,
        dedup_similarity: float = 0.95,
        hybrid: bool = True,
        bm25_weight: float = 0.35,
    ):
        self.top_k = top_k
        self.candidate_k = max(candidate_k, top_k)
        self.min_relevance = min_relevance
        self.dedup_similarity = dedup_similarity
        self.hybrid = hybrid
        self.bm25_weight = bm25_weight
        self._lexical: tuple[str, LexicalIndex] | None = None
        self._lock = threading.Lock()

    def lexical_index(self, build: Build) -> LexicalIndex:
        """The BM25 index of this build, built on first use."""
        with self._lock:
            if self._lexical is None or self._lexical[0] != build.version:
                self._lexical = (build.version, LexicalIndex(build))
            return self._lexical[1]

    def retrieve(self, build: Build, query_vec: np.ndarray, query_text: str, k: int | None = None) -> list[RetrievedChunk]:
        """Chunks relevant to the query, best first; empty when nothing clears the threshold."""
        k = k or self.top_k
        hits = build.query("chunks", query_vec, self.candidate_k)
        dense = {h.record.id: (h.record, h.similarity) for h in hits}
        lexical: dict[str, float] = {}
        if self.hybrid:
            lexical = dict(self.lexical_index(build).search(query_text, self.candidate_k))
            missing = [cid for cid in lexical if cid not in dense]
            if missing:
                for rec in build.get("chunks", missing):
                    dense[rec.id] = (rec, float(np.dot(rec.embedding, query_vec)))
        scored = []
        for cid, (rec, sim) in dense.items():
            lex = lexical.get(cid, 0.0)
            score = (1 - self.bm25_weight) * sim + self.bm25_weight * lex if self.hybrid else sim
            if sim >= self.min_relevance:
                scored.append((score, sim, lex, rec))
        scored.sort(key=lambda item: -item[0])
        kept: list[tuple[float, float, float, Record]] = []
        for item in scored:
            vec = item[3].embedding
            if vec is not None and any(
                other[3].embedding is not None and float(np.dot(vec, other[3].embedding)) >= self.dedup_similarity
                for other in kept
            ):
                continue
            kept.append(item)
            if len(kept) >= k:
                break
        return [to_retrieved(rec, score, sim, lex) for score, sim, lex, rec in kept]


def lexical_overlap(query: str, sentence: str) -> float:
    """Share of the query's content words that the sentence contains."""
    q = content_words(query)
    if not q:
        return 0.0
    return len(q & content_words(sentence)) / len(q)


def mentions(text: str, words: Sequence[str]) -> bool:
    """Whether any of the words occurs in the folded text."""
    folded = fold(text)
    return any(w in folded for w in words)
