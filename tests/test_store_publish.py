"""``kratom-bot index --publish``: a new version is built aside and the pointer switches atomically.

A reader that keeps opening the active version while publishes run must always see a
complete version. The same reader check catches a publisher that switches too early.
"""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from bot.chunking import Chunker
from bot.cli import main
from bot.corpus import load_corpus
from bot.embedding import FakeEmbedder
from bot.errors import BotError
from bot.indexing import IndexBuilder
from bot.store import ActiveIndex, Build, EmbeddedLayout, ServerLayout, new_version
from conftest import PROMPTS
from reliability.chroma_server import chroma_server, unique_prefix  # noqa: F401  (fixture)


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.integration)])
def make_layout(request, tmp_path):
    prefix = unique_prefix()
    if request.param == "embedded":
        return lambda: EmbeddedLayout(tmp_path / "index")
    server = request.getfixturevalue("chroma_server")
    return lambda: ServerLayout("127.0.0.1", server.port, prefix, retire_grace_s=30)


def two_corpora(fixture_corpus, tmp_path):
    """The fixture corpus (three documents) and a copy with one document fewer."""
    smaller = tmp_path / "smaller"
    shutil.copytree(fixture_corpus, smaller)
    (smaller / "docs" / "what-is-kratom.md").unlink()
    return load_corpus(fixture_corpus), load_corpus(smaller)


def completeness_problems(build: Build) -> list[str]:
    """What a reader would find wrong with a version: collections that do not match its manifest."""
    problems = []
    m = build.manifest
    for kind, want in (("chunks", m.get("chunks")), ("sentences", m.get("sentences"))):
        have = build.count(kind)
        if have != want:
            problems.append(f"{build.version}: {kind} {have} != {want}")
    docs = {r.metadata["doc_id"] for r in build.iter_all("chunks")}
    if len(docs) != m.get("documents"):
        problems.append(f"{build.version}: {len(docs)} documents != {m.get('documents')}")
    return problems


class SlowAdds:
    """Makes every collection write slow, so that a half-built version exists for a while."""

    def __init__(self, monkeypatch, seconds=0.15):
        real = Build.add

        def add(build, kind, records):
            time.sleep(seconds)
            real(build, kind, records)

        monkeypatch.setattr(Build, "add", add)


def read_while(publish, reader_layout, min_reads=20):
    """Run ``publish`` in a thread while this thread keeps reading; return (versions seen, problems)."""
    index = ActiveIndex(reader_layout, recheck_seconds=0)
    seen: set[str] = set()
    problems: list[str] = []
    errors: list[BaseException] = []

    def run():
        try:
            publish()
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    def read():
        try:
            build = index.current()
            problems.extend(completeness_problems(build))
            seen.add(build.version)
        except BotError as exc:
            problems.append(f"read failed: {exc}")

    reads = 0
    while thread.is_alive() or reads < min_reads:
        read()
        reads += 1
    thread.join()
    read()  # and once after the last switch
    assert not errors, errors
    return seen, problems


def test_reader_during_publishes_always_sees_a_complete_version(make_layout, fixture_corpus, tmp_path, monkeypatch):
    full, smaller = two_corpora(fixture_corpus, tmp_path)
    writer = make_layout()
    builder = IndexBuilder(writer, FakeEmbedder(), Chunker(900))
    builder.build(full)
    SlowAdds(monkeypatch)

    def publish():
        for corpus in (smaller, full, smaller, full):
            builder.build(corpus, full=True)

    seen, problems = read_while(publish, make_layout())
    assert problems == []
    assert len(seen) >= 3  # the reader really crossed several switches
    assert writer.active_marker() in seen


def test_the_reader_check_catches_a_publisher_that_switches_too_early(make_layout, fixture_corpus, tmp_path, monkeypatch):
    """Control: pointing readers at a version before it is filled is visible to the same check."""
    full, _ = two_corpora(fixture_corpus, tmp_path)
    writer = make_layout()
    IndexBuilder(writer, FakeEmbedder(), Chunker(900)).build(full)
    good = writer.active()
    records = {kind: list(good.iter_all(kind, embeddings=True)) for kind in ("chunks", "sentences", "faq")}
    SlowAdds(monkeypatch)

    def naive_publish():
        build = writer.begin(new_version())
        writer.commit(build, {**good.manifest, "version": build.version})  # switch first: the bug
        for kind, recs in records.items():
            build.add(kind, recs)

    _, problems = read_while(naive_publish, make_layout())
    assert problems, "the check must see the half-built version"


@pytest.fixture
def cli_env(monkeypatch, fixture_corpus):
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(fixture_corpus))
    monkeypatch.setenv("KRATOMBOT_EMBEDDING_MODEL", "fake")
    monkeypatch.setenv("KRATOMBOT_PROMPTS_DIR", str(PROMPTS))


def test_cli_publish_always_makes_a_new_version_and_reuses_embeddings(cli_env, tmp_path, capsys):
    assert main(["index"]) == 0
    first = json.loads((tmp_path / "state" / "index" / "ACTIVE.json").read_text())["version"]
    capsys.readouterr()
    assert main(["index", "--publish"]) == 0  # the index is fresh, but publish still builds a new version
    out = capsys.readouterr().out
    second = json.loads((tmp_path / "state" / "index" / "ACTIVE.json").read_text())["version"]
    assert second != first
    assert f"published index {second}" in out and f"replacing {first}" in out
    assert "0 texts embedded" in out  # unchanged content is reused, not re-embedded
    assert main(["index", "--status"]) == 0


def test_cli_publish_repairs_a_corrupt_pointer(cli_env, tmp_path, capsys):
    assert main(["index"]) == 0
    (tmp_path / "state" / "index" / "ACTIVE.json").write_text("{oops")
    assert main(["index", "--publish"]) == 0
    assert "replacing nothing" in capsys.readouterr().out
    assert main(["index", "--status"]) == 0


@pytest.mark.integration
def test_cli_publish_to_a_chroma_server(cli_env, chroma_server, monkeypatch, capsys):
    prefix = unique_prefix()
    monkeypatch.setenv("KRATOMBOT_CHROMA_MODE", "http")
    monkeypatch.setenv("KRATOMBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("KRATOMBOT_CHROMA_PORT", str(chroma_server.port))
    monkeypatch.setenv("KRATOMBOT_COLLECTION_PREFIX", prefix)
    assert main(["index", "--status"]) == 1
    assert main(["index", "--publish"]) == 0
    out = capsys.readouterr().out
    assert f"to the Chroma server at http://127.0.0.1:{chroma_server.port}" in out and "replacing nothing" in out
    layout = ServerLayout("127.0.0.1", chroma_server.port, prefix)
    first = layout.active_marker()
    assert main(["index", "--publish"]) == 0
    assert layout.active_marker() != first and f"replacing {first}" in capsys.readouterr().out
    assert main(["index", "--status"]) == 0


def test_cli_reports_an_unreachable_server_in_one_line(cli_env, monkeypatch, capsys):
    from reliability.chroma_server import free_port

    monkeypatch.setenv("KRATOMBOT_CHROMA_MODE", "http")
    monkeypatch.setenv("KRATOMBOT_CHROMA_PORT", str(free_port()))
    monkeypatch.setenv("KRATOMBOT_CHROMA_TIMEOUT_S", "2")
    assert main(["index", "--publish"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kratom-bot: error: the Chroma server at http://127.0.0.1:") and "unavailable" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
