"""Missing, corrupt or version-mismatched index folders: rebuilt automatically, or a message saying what to run.

Each damage is tried three ways: the app starting with automatic indexing (it rebuilds and
answers), the app with automatic indexing off (it answers "temporarily unavailable" and
/healthz names the command), and the CLI (``index --status`` names the command, and
``kratom-bot index`` repairs it).
"""

from __future__ import annotations

import json
import shutil

import pytest

from bot.cli import main
from bot.guard.base import PassThroughGuard
from bot.store import SCHEMA_VERSION, EmbeddedLayout, _release_client
from bot.wiring import load_chatbot
from conftest import PROMPTS


def _active(index_dir) -> str:
    return json.loads((index_dir / "ACTIVE.json").read_text())["version"]


def delete_builds(index_dir):
    shutil.rmtree(index_dir / "builds")


def corrupt_pointer(index_dir):
    (index_dir / "ACTIVE.json").write_text('{"version": "v2026', encoding="utf-8")


def corrupt_sqlite(index_dir):
    path = index_dir / "builds" / _active(index_dir)
    _release_client(path)  # the test process opened it while building
    db = path / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    data[4096:12288] = b"\x00" * 8192  # wipe pages in the middle: "database disk image is malformed"
    db.write_bytes(bytes(data))


def garbage_sqlite(index_dir):
    path = index_dir / "builds" / _active(index_dir)
    _release_client(path)
    (path / "chroma.sqlite3").write_bytes(b"not a database " * 500)


def old_schema(index_dir):
    for path in (index_dir / "ACTIVE.json", index_dir / "builds" / _active(index_dir) / "manifest.json"):
        manifest = json.loads(path.read_text())
        manifest["schema"] = SCHEMA_VERSION - 1
        path.write_text(json.dumps(manifest))


DAMAGES = {
    "builds folder deleted": (delete_builds, "is missing; run `kratom-bot index --rebuild`"),
    "ACTIVE.json corrupt": (corrupt_pointer, "is corrupt .*run `kratom-bot index --rebuild`"),
    "chroma sqlite corrupt": (corrupt_sqlite, "is corrupt .*malformed.*run `kratom-bot index --rebuild`"),
    "chroma sqlite not a database": (garbage_sqlite, "is corrupt .*run `kratom-bot index --rebuild`"),
    "manifest of an old schema": (old_schema, f"schema {SCHEMA_VERSION - 1}, but this kratom-bot needs schema {SCHEMA_VERSION}; run `kratom-bot index --rebuild`"),
}


@pytest.fixture(params=list(DAMAGES))
def damage(request):
    return DAMAGES[request.param]


def _built(settings):
    bot = load_chatbot(settings, guard=PassThroughGuard())
    assert bot.reply("Can kratom cause liver injury?").citations
    return settings.resolved_index_dir, bot.index.current().version


def test_app_start_rebuilds_a_damaged_index_and_answers(fake_settings, damage):
    index_dir, before = _built(fake_settings)
    damage[0](index_dir)
    bot = load_chatbot(fake_settings, guard=PassThroughGuard())
    reply = bot.reply("Can kratom cause liver injury?")
    assert reply.answer_source in ("documents", "faq") and {c.source_id for c in reply.citations} == {"liver-injury"}
    assert bot.index.current().version != before


def test_without_auto_index_the_reply_degrades_and_health_names_the_command(fake_settings, damage, caplog):
    from fastapi.testclient import TestClient

    from bot.web.app import create_app

    index_dir, _ = _built(fake_settings)
    damage[0](index_dir)
    settings = fake_settings.model_copy(update={"auto_index": False})
    bot = load_chatbot(settings, guard=PassThroughGuard())
    reply = bot.reply("Can kratom cause liver injury?")
    assert reply.answer_source == "unavailable" and "temporarily unavailable" in reply.text and not reply.citations
    import re

    assert any(re.search(damage[1], r.getMessage()) for r in caplog.records), [r.getMessage() for r in caplog.records]
    with TestClient(create_app(bot, settings)) as client:
        health = client.get("/healthz")
    assert health.status_code == 503
    assert re.search(damage[1], health.json()["index"]["error"])


def test_cli_status_names_the_command_and_index_repairs(fake_settings, damage, monkeypatch, capsys):
    index_dir, _ = _built(fake_settings)
    damage[0](index_dir)
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(fake_settings.corpus_dir))
    monkeypatch.setenv("KRATOMBOT_DATA_DIR", str(fake_settings.data_dir))
    monkeypatch.setenv("KRATOMBOT_EMBEDDING_MODEL", "fake")
    monkeypatch.setenv("KRATOMBOT_PROMPTS_DIR", str(PROMPTS))
    capsys.readouterr()
    assert main(["index", "--status"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["state"] in ("missing", "stale") and status["fix"] == "run `kratom-bot index --rebuild`"
    assert main(["index"]) == 0
    assert "built index" in capsys.readouterr().out
    assert main(["index", "--status"]) == 0
    assert EmbeddedLayout(index_dir).active().count("chunks") > 0


def test_ask_with_a_damaged_index_rebuilds_and_answers_in_a_fresh_process(fake_settings, monkeypatch, capsys):
    """The documented one-liner still works after the index folder was wiped by hand."""
    index_dir, _ = _built(fake_settings)
    shutil.rmtree(index_dir)
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(fake_settings.corpus_dir))
    monkeypatch.setenv("KRATOMBOT_DATA_DIR", str(fake_settings.data_dir))
    monkeypatch.setenv("KRATOMBOT_EMBEDDING_MODEL", "fake")
    monkeypatch.setenv("KRATOMBOT_MIN_RELEVANCE", "0.05")
    capsys.readouterr()
    assert main(["ask", "liver injury case reports", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["citations"]
