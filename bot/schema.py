"""The project's own data types.

Library objects (langchain documents, Chroma result dicts) are converted into these at
the boundary, so nothing else in the code depends on their shapes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant"]

EVIDENCE_TYPES = (
    "regulatory",
    "systematic_review",
    "clinical_study",
    "observational",
    "case_report",
    "survey",
    "legal",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    """One turn of a conversation."""

    role: Role
    content: str


class AdditionalSource(_Frozen):
    """A further source a corpus document relies on."""

    org: str
    title: str
    url: str
    date: dt.date


class Document(_Frozen):
    """A curated corpus document with its front matter."""

    id: str
    title: str
    source_org: str
    source_url: str
    published: dt.date | None  # None: the source shows no date (then ``accessed`` says when we read it)
    reviewed: dt.date
    evidence: str
    topics: tuple[str, ...]
    jurisdiction: str | None = None
    accessed: dt.date | None = None
    additional_sources: tuple[AdditionalSource, ...] = ()
    body: str
    path: Path
    body_line: int = 1  # line number in the file where the body starts


class FaqEntry(_Frozen):
    """A curated question with its phrasings, answer and supporting documents."""

    id: str
    questions: tuple[str, ...]
    answer: str
    source_ids: tuple[str, ...]
    path: Path


class Corpus(_Frozen):
    """All documents and FAQ entries of one corpus directory."""

    documents: tuple[Document, ...]
    faq: tuple[FaqEntry, ...] = ()

    def document(self, doc_id: str) -> Document | None:
        """Return the document with this id, or None."""
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        return None


class Chunk(_Frozen):
    """A passage of a document, the unit of retrieval."""

    id: str
    doc_id: str
    text: str
    heading_path: tuple[str, ...]
    position: int
    content_hash: str
    sentences: tuple[str, ...]


class Source(_Frozen):
    """Citation metadata of a corpus document."""

    id: str
    title: str
    source_org: str
    url: str
    published: dt.date | None
    evidence: str
    topics: tuple[str, ...] = ()


class RetrievedChunk(_Frozen):
    """A chunk returned by retrieval, with its scores."""

    chunk_id: str
    doc_id: str
    text: str
    heading_path: tuple[str, ...]
    score: float
    dense_score: float = 0.0
    lexical_score: float = 0.0
    source: Source


class Citation(_Frozen):
    """A numbered source document of a reply, with the passages that support its sentences."""

    n: int
    source_id: str
    title: str
    source_org: str
    url: str
    published: dt.date | None = None
    evidence: str | None = None
    chunk_id: str | None = None  # the first supporting chunk
    chunk_ids: tuple[str, ...] = ()  # every supporting chunk, in order of use
    passage: str  # the supporting passages, joined


class GuardDecision(_Frozen):
    """The input guard's verdict on a conversation turn."""

    label: str = "benign"
    action: str = "answer"
    score: float = 0.0
    reason: str = ""
    layer: str = "none"
    scores: dict[str, float] = Field(default_factory=dict)
    language: str = "en"


class RetrievedRef(_Frozen):
    """A retrieved chunk id and its score, as stored in a Reply."""

    chunk_id: str
    doc_id: str
    score: float


class SentenceTrace(_Frozen):
    """Which chunk a sentence of the answer came from and how well it is supported."""

    sentence: str
    chunk_id: str | None
    citation: int | None
    support: float | None = None


class Reply(_Frozen):
    """The bot's answer to one user turn."""

    text: str
    citations: tuple[Citation, ...] = ()
    warnings: tuple[str, ...] = ()
    refused: bool = False
    emergency: bool = False
    guard: GuardDecision = Field(default_factory=GuardDecision)
    retrieved: tuple[RetrievedRef, ...] = ()
    latency_ms: float = 0.0
    language: str = "en"
    answer_source: str = "documents"  # documents | faq | none | guard | unavailable
    trace: dict = Field(default_factory=dict)

    def to_json_dict(self) -> dict:
        """A JSON-ready dict (dates as ISO strings)."""
        return self.model_dump(mode="json")
