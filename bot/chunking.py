"""Chunking: split documents by section and paragraph, keeping the heading path."""

from __future__ import annotations

import hashlib

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from .schema import Chunk, Document
from .text import normalize_ws, split_sentences, strip_markdown

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


class Chunker:
    """Split a document into section-aware chunks of whole paragraphs."""

    def __init__(self, max_chars: int = 900):
        self.max_chars = max_chars
        self._headers = MarkdownHeaderTextSplitter(headers_to_split_on=_HEADERS, strip_headers=True)
        self._long = RecursiveCharacterTextSplitter(
            chunk_size=max_chars, chunk_overlap=0, separators=[". ", "; ", ", ", " "], keep_separator="end"
        )

    def split(self, doc: Document) -> list[Chunk]:
        """Return the document's chunks in reading order."""
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for section in self._headers.split_text(doc.body):
            path = tuple(section.metadata[k] for _, k in _HEADERS if section.metadata.get(k))
            for text in self._pack(self._paragraphs(section.page_content)):
                chunk = self._make(doc, path, text, len(chunks))
                if chunk.id not in seen:  # a repeated identical paragraph adds nothing
                    seen.add(chunk.id)
                    chunks.append(chunk)
        return chunks

    def _paragraphs(self, content: str) -> list[str]:
        # The header splitter joins a section's lines with single newlines (blank lines are
        # dropped), so each line is a paragraph; _pack joins short ones again.
        paras = []
        for block in content.split("\n"):
            text = normalize_ws(strip_markdown(block))
            if not text:
                continue
            if len(text) > self.max_chars:
                paras.extend(normalize_ws(p) for p in self._long.split_text(text))
            else:
                paras.append(text)
        return paras

    def _pack(self, paragraphs: list[str]) -> list[str]:
        """Join consecutive paragraphs while they fit, so chunks are not tiny."""
        packed: list[str] = []
        for para in paragraphs:
            if packed and len(packed[-1]) + 1 + len(para) <= self.max_chars // 2:
                packed[-1] = f"{packed[-1]} {para}"
            else:
                packed.append(para)
        return packed

    @staticmethod
    def _make(doc: Document, path: tuple[str, ...], text: str, position: int) -> Chunk:
        digest = hashlib.sha256(
            "\x1f".join([doc.id, doc.title, doc.source_url, *path, text]).encode()
        ).hexdigest()
        return Chunk(
            id=f"{doc.id}::{digest[:12]}",
            doc_id=doc.id,
            text=text,
            heading_path=path,
            position=position,
            content_hash=digest,
            sentences=tuple(split_sentences(text)),
        )


def embedding_text(doc_title: str, chunk: Chunk) -> str:
    """The text embedded for a chunk: title and section give the passage its context."""
    heading = " > ".join(h for h in chunk.heading_path if h != doc_title)
    prefix = f"{doc_title}. {heading}." if heading else f"{doc_title}."
    return f"{prefix} {chunk.text}"
