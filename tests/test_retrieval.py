"""Retrieval: conversation-aware queries, threshold, de-duplication, hybrid fusion."""

import numpy as np
import pytest

from bot.chunking import Chunker
from bot.corpus import load_corpus
from bot.embedding import FakeEmbedder
from bot.indexing import IndexBuilder
from bot.retrieval import Retriever, build_query, is_followup
from bot.schema import Message
from bot.store import EmbeddedLayout


def msgs(*turns):
    out = []
    for i, t in enumerate(turns):
        out.append(Message(role="user" if i % 2 == 0 else "assistant", content=t))
    return out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("and in Ohio?", True),
        ("is that one dangerous?", True),
        ("what about pregnancy?", True),
        ("Can kratom damage the liver?", False),
        ("What are the most commonly reported side effects of kratom products in surveys?", False),
    ],
)
def test_is_followup(text, expected):
    assert is_followup(text) is expected


def test_followup_is_resolved_against_earlier_turns():
    q = build_query(msgs("Is kratom legal in Texas?", "Yes ... [1]", "and in Ohio?"))
    assert q.used_context and q.text == "Is kratom legal in Texas? and in Ohio?"
    standalone = build_query(msgs("Is kratom legal in Texas?", "Yes ... [1]", "Can kratom damage the liver?"))
    assert not standalone.used_context and standalone.text == "Can kratom damage the liver?"


def test_chained_followups_reach_back_to_the_topic():
    q = build_query(msgs("What is 7-OH?", "a", "is that dangerous?", "b", "and for teens?"))
    assert q.text.startswith("What is 7-OH?") and q.text.endswith("and for teens?")


@pytest.fixture
def fake_build(tmp_path, fixture_corpus):
    builder = IndexBuilder(EmbeddedLayout(tmp_path / "index"), FakeEmbedder(), Chunker(900))
    builder.build(load_corpus(fixture_corpus))
    return builder.layout.active()


def test_threshold_returns_nothing_for_unrelated_query(fake_build):
    retriever = Retriever(min_relevance=0.5, hybrid=False)
    vec = FakeEmbedder().embed(["capital city of france paris"])[0]
    assert retriever.retrieve(fake_build, vec, "capital city of france paris") == []


def test_hybrid_finds_relevant_chunk_first(fake_build):
    retriever = Retriever(min_relevance=0.0, hybrid=True)
    text = "yellowing skin dark urine liver"
    hits = retriever.retrieve(fake_build, FakeEmbedder().embed([text])[0], text)
    assert hits[0].doc_id == "liver-injury"
    assert hits[0].lexical_score > 0
    assert hits[0].source.url.startswith("https://")


def test_near_duplicate_chunks_are_dropped(tmp_path, fixture_corpus):
    path = fixture_corpus / "docs" / "what-is-kratom.md"
    text = path.read_text()
    dup = text.replace("id: what-is-kratom", "id: what-is-kratom-copy").replace("# What kratom is", "# What kratom is (copy)")
    (fixture_corpus / "docs" / "what-is-kratom-copy.md").write_text(dup)
    builder = IndexBuilder(EmbeddedLayout(tmp_path / "index2"), FakeEmbedder(), Chunker(900))
    builder.build(load_corpus(fixture_corpus))
    build = builder.layout.active()
    q = "kratom tree native southeast asia leaves chewed tea"
    vec = FakeEmbedder().embed([q])[0]
    loose = Retriever(min_relevance=0.0, dedup_similarity=1.01, hybrid=False).retrieve(build, vec, q, k=6)
    strict = Retriever(min_relevance=0.0, dedup_similarity=0.9, hybrid=False).retrieve(build, vec, q, k=6)
    texts_loose = [h.text for h in loose]
    assert len(texts_loose) != len(set(texts_loose))  # the copy's identical passages come back without dedup
    assert len([h.text for h in strict]) == len({h.text for h in strict})


@pytest.mark.integration
def test_real_model_retrieval_relevance(tmp_path, fixture_corpus, real_embedder):
    builder = IndexBuilder(EmbeddedLayout(tmp_path / "index"), real_embedder, Chunker(900))
    builder.build(load_corpus(fixture_corpus))
    build = builder.layout.active()
    retriever = Retriever(top_k=3)
    cases = {
        "Can kratom hurt my liver?": "liver-injury",
        "Did the DEA try to ban kratom?": "us-federal-status",
        "Where does the kratom tree grow?": "what-is-kratom",
    }
    for question, doc_id in cases.items():
        hits = retriever.retrieve(build, real_embedder.embed([question])[0], question)
        assert hits and hits[0].doc_id == doc_id, question
    weather = "What's the weather in Paris tomorrow?"
    assert retriever.retrieve(build, real_embedder.embed([weather])[0], weather) == []


def test_short_statement_before_a_question_frames_it():
    q = build_query(msgs("I'm pregnant.", "(reply)", "Is it ok if I keep using kratom?"))
    assert q.used_context and q.text == "I'm pregnant. Is it ok if I keep using kratom?"
    plain = build_query(msgs("What is kratom?", "(reply)", "Is it ok if I keep using kratom?"))
    assert not plain.used_context
