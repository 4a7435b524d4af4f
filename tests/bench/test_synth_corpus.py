"""bench/synth_corpus.py: filler recombined from real sentences, loadable as a corpus."""

from __future__ import annotations

import json

from bot.chunking import Chunker
from bot.corpus import load_corpus

from .conftest import FIXTURE_CORPUS, load_bench


def test_generates_at_least_n_chunks_from_real_sentences_only(tmp_path):
    synth = load_bench("synth_corpus")
    out = tmp_path / "synthetic"
    info = synth.generate(FIXTURE_CORPUS, out, chunks=40, seed=3)

    corpus = load_corpus(out)  # a valid corpus: the app can index it
    source = load_corpus(FIXTURE_CORPUS)
    chunker = Chunker()
    chunks = [c for doc in corpus.documents for c in chunker.split(doc)]
    assert len(chunks) == info["chunks"] >= 40
    assert {d.id for d in source.documents} <= {d.id for d in corpus.documents}  # the real documents stay
    assert len(corpus.faq) == len(source.faq)

    real_sentences = {s for doc in source.documents for c in chunker.split(doc) for s in c.sentences}
    filler = [c for c in chunks if "-syn" in c.doc_id]
    assert filler and info["filler_chunks"] == len(filler)
    assert all(s in real_sentences for c in filler for s in c.sentences)  # no invented or random text
    texts = [c.text for c in filler]
    assert len(set(texts)) == len(texts)  # no paragraph repeated
    assert json.loads((out / "synth.json").read_text())["chunks"] == info["chunks"]


def test_same_seed_same_corpus(tmp_path):
    synth = load_bench("synth_corpus")
    synth.generate(FIXTURE_CORPUS, tmp_path / "a", chunks=25, seed=1)
    synth.generate(FIXTURE_CORPUS, tmp_path / "b", chunks=25, seed=1)
    synth.generate(FIXTURE_CORPUS, tmp_path / "c", chunks=25, seed=2)
    read = lambda d: sorted(p.read_text() for p in (tmp_path / d / "docs").glob("*-syn*.md"))  # noqa: E731
    assert read("a") == read("b")
    assert read("a") != read("c")
