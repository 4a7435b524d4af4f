"""Index builds: incremental by content hash, atomic switch, crash safety, staleness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from bot.chunking import Chunker
from bot.corpus import load_corpus
from bot.embedding import FakeEmbedder
from bot.errors import SearchIndexError
from bot.indexing import IndexBuilder
from bot.store import EmbeddedLayout
from bot.text import split_sentences
from fake_embedders import CountingEmbedder, ExplodingEmbedder


def make_builder(tmp_path, embedder=None):
    return IndexBuilder(EmbeddedLayout(tmp_path / "index"), embedder or CountingEmbedder(), Chunker(900))


def test_first_build_then_fresh(tmp_path, fixture_corpus):
    corpus = load_corpus(fixture_corpus)
    builder = make_builder(tmp_path)
    assert builder.status(corpus).state == "missing"
    report = builder.build(corpus)
    assert report.chunks > 0 and report.new_chunks == report.chunks and report.reused_chunks == 0
    status = builder.status(corpus)
    assert status.state == "fresh"
    build = builder.layout.active()
    assert build.count("chunks") == report.chunks
    assert build.count("sentences") == report.sentences
    answer_sentences = sum(len(split_sentences(e.answer)) for e in corpus.faq)
    assert build.count("faq") == report.faq_questions + len(corpus.faq) + answer_sentences


# Incremental rebuilds and removed documents: tests/test_store.py, on both the embedded and the server layout.


def test_failed_build_keeps_previous_index(tmp_path, fixture_corpus):
    builder = make_builder(tmp_path)
    builder.build(load_corpus(fixture_corpus))
    before = builder.layout.active_marker()
    path = fixture_corpus / "docs" / "liver-injury.md"
    path.write_text(path.read_text() + "\nA new paragraph about liver tests.\n")
    broken = IndexBuilder(builder.layout, ExplodingEmbedder(), Chunker(900))
    with pytest.raises(RuntimeError, match="simulated crash"):
        broken.build(load_corpus(fixture_corpus))
    assert builder.layout.active_marker() == before
    assert builder.layout.active().count("chunks") > 0


def test_crash_during_commit_keeps_previous_and_cleans_up(tmp_path, fixture_corpus, monkeypatch):
    builder = make_builder(tmp_path)
    builder.build(load_corpus(fixture_corpus))
    before = builder.layout.active_marker()

    def crash(build, manifest):
        raise OSError("disk vanished")

    monkeypatch.setattr(builder.layout, "commit", crash)
    with pytest.raises(OSError):
        builder.build(load_corpus(fixture_corpus), full=True)
    monkeypatch.undo()
    assert builder.layout.active_marker() == before
    leftovers = [p.name for p in (tmp_path / "index" / "builds").iterdir()]
    assert leftovers == [before]


def test_old_builds_are_pruned(tmp_path, fixture_corpus):
    builder = make_builder(tmp_path)
    corpus = load_corpus(fixture_corpus)
    for _ in range(4):
        builder.build(corpus, full=True)
    builds = sorted(p.name for p in (tmp_path / "index" / "builds").iterdir())
    assert len(builds) == 2 and builder.layout.active_marker() in builds


def test_corrupt_pointer_gives_clear_error(tmp_path, fixture_corpus):
    builder = make_builder(tmp_path)
    builder.build(load_corpus(fixture_corpus))
    (tmp_path / "index" / "ACTIVE.json").write_text("{not json")
    with pytest.raises(SearchIndexError, match="kratom-bot index --rebuild"):
        builder.layout.active()
    assert builder.status(load_corpus(fixture_corpus)).state == "missing"
    builder.build(load_corpus(fixture_corpus))  # a rebuild repairs it
    assert builder.status(load_corpus(fixture_corpus)).state == "fresh"


def test_missing_build_folder_gives_clear_error(tmp_path, fixture_corpus):
    builder = make_builder(tmp_path)
    builder.build(load_corpus(fixture_corpus))
    import shutil

    shutil.rmtree(tmp_path / "index" / "builds")
    with pytest.raises(SearchIndexError, match="is missing; run `kratom-bot index --rebuild`"):
        builder.layout.active()


def test_model_change_makes_index_stale(tmp_path, fixture_corpus):
    corpus = load_corpus(fixture_corpus)
    builder = make_builder(tmp_path)
    builder.build(corpus)
    other = IndexBuilder(builder.layout, FakeEmbedder(dim=128), Chunker(900))
    assert other.status(corpus).state == "stale"


def test_faq_answer_sentences_point_at_supporting_chunks(tmp_path, fixture_corpus):
    builder = make_builder(tmp_path)
    builder.build(load_corpus(fixture_corpus))
    rec = builder.layout.active().get("faq", ids=["faq-liver#answer"], embeddings=False)[0]
    support = json.loads(rec.metadata["support"])
    assert len(support) == 3
    assert all(s["chunk_id"].startswith("liver-injury::") for s in support)


@pytest.mark.integration
def test_real_model_incremental_rebuild(tmp_path, fixture_corpus, real_embedder):
    builder = IndexBuilder(EmbeddedLayout(tmp_path / "index"), real_embedder, Chunker(900))
    first = builder.build(load_corpus(fixture_corpus))
    assert first.embedded_texts > first.chunks
    second = builder.build(load_corpus(fixture_corpus))
    assert second.embedded_texts == 0 and second.reused_chunks == first.chunks
    vec = real_embedder.embed(["liver damage"])[0]
    hits = builder.layout.active().query("chunks", vec, 2)
    assert hits[0].record.metadata["doc_id"] == "liver-injury"
    assert np.isclose(np.linalg.norm(hits[0].record.embedding), 1.0, atol=1e-3)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bot.chunking import Chunker
    from bot.corpus import load_corpus
    from bot.embedding import FakeEmbedder
    from bot.indexing import IndexBuilder
    from bot.store import EmbeddedLayout

    class Slow(FakeEmbedder):
        def embed(self, texts):
            Path(sys.argv[3]).write_text("embedding")
            time.sleep(60)  # the parent kills us here, mid-build
            return super().embed(texts)

    builder = IndexBuilder(EmbeddedLayout(Path(sys.argv[2])), Slow(), Chunker(900))
    builder.build(load_corpus(Path(sys.argv[1])), full=True)
    """
)


@pytest.mark.integration
def test_killed_rebuild_leaves_previous_index_answering(tmp_path, fixture_corpus):
    layout = EmbeddedLayout(tmp_path / "index")
    builder = IndexBuilder(layout, FakeEmbedder(), Chunker(900))
    builder.build(load_corpus(fixture_corpus))
    before = layout.active_marker()
    flag = tmp_path / "started"
    script = tmp_path / "slow_build.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(fixture_corpus), str(tmp_path / "index"), str(flag)])
    try:
        deadline = time.time() + 60
        while not flag.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert flag.exists(), "the rebuild never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert layout.active_marker() == before
    vec = FakeEmbedder().embed(["liver injury jaundice"])[0]
    assert layout.active().query("chunks", vec, 1)[0].record.metadata["doc_id"] == "liver-injury"
    # The next build succeeds despite the killed one (its lock died with it).
    builder.build(load_corpus(fixture_corpus), full=True)
    assert layout.active_marker() != before
