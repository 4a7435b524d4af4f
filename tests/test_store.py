"""The retrieval contract, run against both layouts: embedded Chroma and a real ``chroma run`` server.

The same tests cover building, incremental rebuilds, queries, the pointer switch and
retrieval relevance on the fixture corpus. The server runs are integration tests: a
session fixture starts ``chroma run`` on a free loopback port with its data in a temp
folder and stops it afterwards.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.chunking import Chunker
from bot.corpus import load_corpus
from bot.embedding import FakeEmbedder
from bot.errors import SearchIndexError, StoreUnavailable
from bot.indexing import IndexBuilder
from bot.retrieval import Retriever
from bot.store import SCHEMA_VERSION, ActiveIndex, BuildGone, EmbeddedLayout, ServerLayout, make_layout, version_time
from reliability.chroma_server import chroma_server, unique_prefix  # noqa: F401  (fixture)
from fake_embedders import CountingEmbedder, ExplodingEmbedder


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.integration)])
def make_layout_for(request, tmp_path):
    """A factory of layouts of one kind; every call of one test shares the same index."""
    prefix = unique_prefix()
    if request.param == "embedded":
        return lambda **kw: EmbeddedLayout(tmp_path / "index")
    server = request.getfixturevalue("chroma_server")
    return lambda **kw: ServerLayout("127.0.0.1", server.port, prefix, retire_grace_s=kw.get("grace", 0.0))


@pytest.fixture
def layout(make_layout_for):
    return make_layout_for()


def builder_for(layout, embedder=None):
    return IndexBuilder(layout, embedder or CountingEmbedder(), Chunker(900))


def top_doc(build, text, embedder=None, k=1):
    vec = (embedder or FakeEmbedder()).embed([text])[0]
    return [h.record.metadata["doc_id"] for h in build.query("chunks", vec, k)]


def test_nothing_built_yet(layout, fixture_corpus):
    assert layout.active() is None and layout.active_marker() is None
    builder = builder_for(layout)
    assert builder.status(load_corpus(fixture_corpus)).state == "missing"
    with pytest.raises(SearchIndexError, match="run `kratom-bot index`"):
        ActiveIndex(layout).current()


def test_build_then_query(layout, fixture_corpus):
    corpus = load_corpus(fixture_corpus)
    builder = builder_for(layout)
    report = builder.build(corpus)
    assert builder.status(corpus).state == "fresh"
    build = layout.active()
    assert build.version == report.version == layout.active_marker()
    assert build.manifest["schema"] == SCHEMA_VERSION and build.manifest["chunks"] == report.chunks
    assert build.count("chunks") == report.chunks and build.count("sentences") == report.sentences
    hits = build.query("chunks", FakeEmbedder().embed(["liver injury jaundice"])[0], 3)
    assert hits[0].record.metadata["doc_id"] == "liver-injury"
    assert hits[0].similarity >= hits[-1].similarity
    assert np.isclose(np.linalg.norm(hits[0].record.embedding), 1.0, atol=1e-3)
    # Metadata carries the citation, and get/iter_all agree with query.
    assert hits[0].record.metadata["source_url"].startswith("https://")
    again = build.get("chunks", ids=[hits[0].record.id])[0]
    assert again.text == hits[0].record.text and again.metadata == hits[0].record.metadata
    assert len(list(build.iter_all("chunks", page=2))) == report.chunks
    filtered = build.get("sentences", where={"doc_id": "us-federal-status"}, embeddings=False)
    assert filtered and {r.metadata["doc_id"] for r in filtered} == {"us-federal-status"}


def test_incremental_rebuild_reembeds_only_changed_content(layout, fixture_corpus):
    embedder = CountingEmbedder()
    builder = builder_for(layout, embedder)
    first = builder.build(load_corpus(fixture_corpus))
    path = fixture_corpus / "docs" / "what-is-kratom.md"
    path.write_text(path.read_text().replace("is a tree native", "is an evergreen tree native"))
    corpus = load_corpus(fixture_corpus)
    assert builder.status(corpus).state == "stale"
    embedder.calls = 0
    second = builder.build(corpus)
    assert (second.new_chunks, second.removed_chunks, second.reused_chunks) == (1, 1, first.chunks - 1)
    assert embedder.calls == second.embedded_texts == 2
    assert second.version != first.version and layout.active_marker() == second.version
    texts = [r.text for r in layout.active().iter_all("chunks")]
    assert any("evergreen tree native" in t for t in texts)
    assert not any("is a tree native" in t for t in texts)
    assert builder.status(corpus).state == "fresh"


def test_removed_document_disappears(layout, fixture_corpus):
    builder = builder_for(layout)
    builder.build(load_corpus(fixture_corpus))
    (fixture_corpus / "docs" / "what-is-kratom.md").unlink()
    report = builder.build(load_corpus(fixture_corpus))
    assert report.removed_chunks > 0 and report.new_chunks == 0
    assert {r.metadata["doc_id"] for r in layout.active().iter_all("chunks")} == {"liver-injury", "us-federal-status"}


def test_pointer_switch_reaches_readers(make_layout_for, fixture_corpus):
    # Two layout objects stand for two replicas sharing one index.
    writer, reader_layout = make_layout_for(grace=3600), make_layout_for(grace=3600)
    builder = builder_for(writer)
    builder.build(load_corpus(fixture_corpus))
    reader = ActiveIndex(reader_layout, recheck_seconds=0)
    old = reader.current()
    assert top_doc(old, "federal legal status DEA") == ["us-federal-status"]
    (fixture_corpus / "docs" / "us-federal-status.md").unlink()
    builder.build(load_corpus(fixture_corpus))
    new = reader.current()
    assert new.version != old.version and new.version == writer.active_marker()
    assert "us-federal-status" not in top_doc(new, "federal legal status DEA", k=10)
    # The replaced version stays readable for requests that opened it before the switch.
    assert top_doc(old, "federal legal status DEA") == ["us-federal-status"]


def test_failed_build_keeps_previous_version_serving(layout, fixture_corpus):
    builder = builder_for(layout)
    builder.build(load_corpus(fixture_corpus))
    before = layout.active_marker()
    path = fixture_corpus / "docs" / "liver-injury.md"
    path.write_text(path.read_text() + "\nA new paragraph about liver tests.\n")
    with pytest.raises(RuntimeError, match="simulated crash"):
        builder_for(layout, ExplodingEmbedder()).build(load_corpus(fixture_corpus))
    assert layout.active_marker() == before
    assert top_doc(layout.active(), "liver injury jaundice") == ["liver-injury"]


def test_incomplete_build_is_never_published(layout, fixture_corpus, monkeypatch):
    builder = builder_for(layout)
    builder.build(load_corpus(fixture_corpus))
    before = layout.active_marker()
    from bot import store

    real_add = store.Build.add

    def lossy_add(self, kind, records):  # a store that silently drops part of a batch
        real_add(self, kind, records[:-1] if kind == "sentences" else records)

    monkeypatch.setattr(store.Build, "add", lossy_add)
    with pytest.raises(SearchIndexError, match="incomplete: sentences holds"):
        builder.build(load_corpus(fixture_corpus), full=True)
    assert layout.active_marker() == before


def test_old_schema_is_refused_by_readers_and_rebuilt(layout, fixture_corpus, monkeypatch):
    from bot import store

    corpus = load_corpus(fixture_corpus)
    monkeypatch.setattr("bot.indexing.SCHEMA_VERSION", SCHEMA_VERSION - 1)  # an index written by an older release
    builder_for(layout).build(corpus)
    monkeypatch.undo()
    with pytest.raises(SearchIndexError, match=r"schema 1, but this kratom-bot needs schema 2; run `kratom-bot index --rebuild`"):
        ActiveIndex(layout).current()
    embedder = CountingEmbedder()
    builder = builder_for(layout, embedder)
    status = builder.status(corpus)
    assert status.state == "stale" and "schema" in status.reason
    report = builder.build(corpus)
    assert report.embedded_texts > 0 and embedder.calls == report.embedded_texts  # nothing reused across schemas
    assert ActiveIndex(layout).current().manifest["schema"] == store.SCHEMA_VERSION


def test_chatbot_answers_from_either_layout(make_layout_for, fake_settings):
    """The whole pipeline, configured only through settings, answers with citations."""
    from bot.guard.base import PassThroughGuard
    from bot.wiring import load_chatbot

    layout = make_layout_for()
    if isinstance(layout, ServerLayout):
        settings = fake_settings.model_copy(update={
            "chroma_mode": "http", "chroma_port": layout.port, "collection_prefix": layout.prefix,
        })
        assert isinstance(make_layout(settings), ServerLayout)
    else:
        settings = fake_settings.model_copy(update={"index_dir": layout.index_dir})
        assert isinstance(make_layout(settings), EmbeddedLayout)
    bot = load_chatbot(settings, guard=PassThroughGuard())
    reply = bot.reply("Can kratom cause liver injury?")
    assert reply.answer_source in ("documents", "faq") and reply.citations
    assert {c.source_id for c in reply.citations} == {"liver-injury"}
    assert layout.active_marker() == bot.index.current().version


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, doc",
    [
        ("Can kratom damage the liver?", "liver-injury"),
        ("What did the DEA do about kratom in 2016?", "us-federal-status"),
        ("Which tree does kratom come from?", "what-is-kratom"),
    ],
)
def test_real_model_relevance_is_the_same_on_both_layouts(make_layout_for, fixture_corpus, real_embedder, question, doc):
    layout = make_layout_for()
    builder_for(layout, real_embedder).build(load_corpus(fixture_corpus))
    build = ActiveIndex(layout).current()
    retrieved = Retriever(top_k=3, candidate_k=8, min_relevance=0.3).retrieve(build, real_embedder.embed([question])[0], question)
    assert retrieved and retrieved[0].doc_id == doc


# -- server-only behaviour -----------------------------------------------------------------

@pytest.mark.integration
def test_server_collection_names_follow_chromas_rules(chroma_server, fixture_corpus):
    prefix = unique_prefix("kb.x_y-")
    layout = ServerLayout("127.0.0.1", chroma_server.port, prefix)
    report = builder_for(layout).build(load_corpus(fixture_corpus))
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port)
    names = {c.name for c in client.list_collections(limit=1000) if c.name.startswith(prefix)}
    assert names == {f"{prefix}-active", *(f"{prefix}-{report.version}-{k}" for k in ("chunks", "sentences", "faq"))}
    meta = client.get_collection(f"{prefix}-active").metadata
    assert meta["version"] == report.version
    assert json.loads(meta["manifest"])["version"] == report.version
    assert [h["version"] for h in json.loads(meta["history"])] == [report.version]


def test_prefix_that_chroma_would_reject_is_a_setting_error():
    from bot.errors import ConfigError
    from bot.settings import load_settings

    for bad in ("kratom bot", "-kb", "kb-", "a..b", "kräto"):
        with pytest.raises(ConfigError, match="KRATOMBOT_COLLECTION_PREFIX"):
            load_settings(collection_prefix=bad)
    assert load_settings(collection_prefix="kb.prod_2-eu").collection_prefix == "kb.prod_2-eu"


@pytest.mark.integration
def test_server_cleanup_keeps_active_previous_and_builds_in_progress(chroma_server, fixture_corpus):
    prefix = unique_prefix()
    layout = ServerLayout("127.0.0.1", chroma_server.port, prefix, retire_grace_s=3600)
    builder = builder_for(layout)
    corpus = load_corpus(fixture_corpus)
    versions = [builder.build(corpus, full=True).version for _ in range(4)]
    # Within the grace period every retired version is kept for readers that still use it.
    assert layout._versions_on_server() == set(versions)
    # Another publisher's unfinished build, newer than the active version, is not touched.
    from bot.store import new_version

    in_progress = new_version()
    layout.begin(in_progress)
    layout.retire_grace_s = 0
    layout.cleanup(keep=2)
    assert layout._versions_on_server() == {versions[-1], versions[-2], in_progress}
    # A crashed publish an hour old is removed.
    import time

    layout.cleanup(keep=2, now=time.time() + 7200)
    assert layout._versions_on_server() == {versions[-1], versions[-2]}
    assert version_time(versions[-1]) is not None


@pytest.mark.integration
def test_server_publish_lock_refuses_a_second_publisher(chroma_server, fixture_corpus):
    layout = ServerLayout("127.0.0.1", chroma_server.port, unique_prefix())
    corpus = load_corpus(fixture_corpus)
    with layout.lock():
        with pytest.raises(SearchIndexError, match="another publish to the Chroma server .* is running"):
            builder_for(ServerLayout("127.0.0.1", chroma_server.port, layout.prefix)).build(corpus)
    builder_for(layout).build(corpus)  # released afterwards
    assert layout.active_marker() is not None


@pytest.mark.integration
def test_deleted_version_under_a_reader_is_reported_as_gone(chroma_server, fixture_corpus):
    layout = ServerLayout("127.0.0.1", chroma_server.port, unique_prefix(), retire_grace_s=0)
    builder = builder_for(layout)
    builder.build(load_corpus(fixture_corpus))
    old = layout.active()
    for _ in range(2):
        builder.build(load_corpus(fixture_corpus), full=True)
    with pytest.raises(BuildGone, match="no longer exists"):
        old.query("chunks", FakeEmbedder().embed(["liver"])[0], 1)
    assert isinstance(BuildGone("x"), StoreUnavailable)  # the chatbot degrades and re-opens the active version


def test_unreachable_server_is_store_unavailable():
    from reliability.chroma_server import free_port

    layout = ServerLayout("127.0.0.1", free_port(), "kb", timeout_s=2)
    with pytest.raises(StoreUnavailable, match="Chroma server at http://127.0.0.1:.* is unavailable"):
        layout.active_marker()
    with pytest.raises(StoreUnavailable):
        ActiveIndex(layout).current()
