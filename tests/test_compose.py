"""Composition: one citation number per source document, markers after each sentence."""

import datetime as dt

from bot.compose import assemble
from bot.schema import RetrievedChunk, Source

SRC = Source(id="doc-a", title="A", source_org="FDA", url="https://www.fda.gov/a", published=dt.date(2024, 1, 1), evidence="regulatory")
SRC_B = SRC.model_copy(update={"id": "doc-b", "title": "B", "url": "https://www.cdc.gov/b"})


def chunk(cid, doc, text, src):
    return RetrievedChunk(chunk_id=cid, doc_id=doc, text=text, heading_path=(), score=0.5, source=src)


def test_one_number_per_document_with_all_passages():
    a1 = chunk("doc-a::1", "doc-a", "First passage.", SRC)
    a2 = chunk("doc-a::2", "doc-a", "Second passage.", SRC)
    b1 = chunk("doc-b::1", "doc-b", "Other passage.", SRC_B)
    text, citations, traces = assemble([("Fact one.", a1, 0.8), ("Fact two.", a2, 0.7), ("Fact three.", b1, 0.6)])
    assert text == "Fact one [1]. Fact two [1].\n\nFact three [2]."
    assert [c.n for c in citations] == [1, 2]
    assert citations[0].chunk_ids == ("doc-a::1", "doc-a::2")
    assert "First passage." in citations[0].passage and "Second passage." in citations[0].passage
    assert [t.chunk_id for t in traces] == ["doc-a::1", "doc-a::2", "doc-b::1"]


def test_marker_goes_before_final_punctuation_and_is_added_without_it():
    a1 = chunk("doc-a::1", "doc-a", "x", SRC)
    text, _, _ = assemble([("Is it safe?", a1, 0.5), ("No period", a1, 0.5)])
    assert text == "Is it safe [1]? No period [1]"
