"""Numbered passages: what the model is shown and what each ``[n]`` it writes must be checked against.

One passage per source document (its retrieved chunks joined), numbered in retrieval
order. The gate judges a sentence against exactly the text that later appears as the
citation's passage, so what the gate accepted is what the reader (and the evaluation
suite) can check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..compose import citation_for
from ..schema import Citation, RetrievedChunk

PIECE_JOINER = " … "  # the same joiner compose.citation_for uses for a citation's passage


@dataclass(frozen=True)
class Passage:
    """One numbered source document with the chunks of it that were retrieved."""

    n: int
    chunks: tuple[RetrievedChunk, ...]

    @property
    def doc_id(self) -> str:
        """The corpus document id."""
        return self.chunks[0].doc_id

    @property
    def title(self) -> str:
        """The source's title."""
        return self.chunks[0].source.title

    @property
    def source_org(self) -> str:
        """Who published the source."""
        return self.chunks[0].source.source_org

    @property
    def text(self) -> str:
        """The passage text, exactly as a citation of it will show it."""
        return PIECE_JOINER.join(c.text for c in self.chunks)

    @property
    def topics(self) -> tuple[str, ...]:
        """The source document's topics (they choose the safety warnings)."""
        return self.chunks[0].source.topics

    def citation(self, n: int) -> Citation:
        """This passage as citation number ``n`` of a reply."""
        return citation_for(n, list(self.chunks))

    def prompt_dict(self) -> dict:
        """The variables a prompt template uses for one passage."""
        headings = [" > ".join(c.heading_path) for c in self.chunks if c.heading_path]
        return {
            "n": self.n,
            "title": self.title,
            "source_org": self.source_org,
            "heading": "; ".join(dict.fromkeys(h for h in headings if h)),
            "text": self.text,
        }


def number_passages(retrieved: Sequence[RetrievedChunk]) -> list[Passage]:
    """Group retrieved chunks by document, numbered 1..N in order of each document's best chunk."""
    order: list[str] = []
    by_doc: dict[str, list[RetrievedChunk]] = {}
    for chunk in retrieved:
        if chunk.doc_id not in by_doc:
            order.append(chunk.doc_id)
            by_doc[chunk.doc_id] = []
        if all(c.chunk_id != chunk.chunk_id for c in by_doc[chunk.doc_id]):
            by_doc[chunk.doc_id].append(chunk)
    return [Passage(i, tuple(by_doc[doc])) for i, doc in enumerate(order, 1)]
