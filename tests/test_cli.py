"""The kratom-bot command line: friendly errors, JSON output, replay round trip."""

import json
import os
import subprocess
import sys

import pytest

from bot.cli import main
from conftest import PROMPTS, ROOT


@pytest.fixture
def fake_env(monkeypatch, fixture_corpus, tmp_path):
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(fixture_corpus))
    monkeypatch.setenv("KRATOMBOT_EMBEDDING_MODEL", "fake")
    monkeypatch.setenv("KRATOMBOT_MIN_RELEVANCE", "0.05")
    monkeypatch.setenv("KRATOMBOT_PROMPTS_DIR", str(PROMPTS))


def test_index_then_status(fake_env, capsys):
    assert main(["index"]) == 0
    assert "built index" in capsys.readouterr().out
    assert main(["index"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["index", "--status"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "fresh"


def test_ask_json(fake_env, capsys):
    assert main(["ask", "liver injury case reports", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["citations"] and "trace" not in data
    assert data["guard"]["label"]


def test_corpus_error_is_one_friendly_line(fake_env, fixture_corpus, capsys):
    (fixture_corpus / "docs" / "broken.md").write_text("no front matter\n")
    assert main(["index"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kratom-bot: error: ") and "broken.md" in err and "Traceback" not in err


def test_bad_setting_is_reported(monkeypatch, capsys):
    monkeypatch.setenv("KRATOMBOT_TOP_K", "many")
    assert main(["index", "--status"]) == 2
    assert "KRATOMBOT_TOP_K='many'" in capsys.readouterr().err


def test_replay_round_trip(fake_env, tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                {"id": "c1", "turns": ["liver injury case reports"]},
                {"id": "c2", "turns": ["what did the DEA do in 2016", "and did they withdraw it?"]},
                {"id": "c3", "turns": ["where does the kratom tree grow"], "expect": {"needs_citation": True}},
            ]
        )
    )
    out = tmp_path / "replies.jsonl"
    assert main(["replay", str(cases), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["c1", "c2", "c3"]
    assert [len(line["replies"]) for line in lines] == [1, 2, 1]
    assert all(r["text"] for line in lines for r in line["replies"])


def test_replay_bad_line_is_named(fake_env, tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "ok", "turns": ["x"]}\nnot json\n')
    assert main(["replay", str(cases)]) == 2
    assert "line 2" in capsys.readouterr().err


@pytest.mark.integration
def test_console_script_ask_liver_json(fixture_corpus, tmp_path):
    """The documented acceptance check: markers resolve to citations with real URLs."""
    env = {**os.environ, "KRATOMBOT_CORPUS_DIR": str(fixture_corpus), "KRATOMBOT_DATA_DIR": str(tmp_path / "s")}
    exe = os.path.join(os.path.dirname(sys.executable), "kratom-bot")
    proc = subprocess.run(
        [exe, "ask", "Can kratom damage the liver?", "--json"], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    import re

    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["text"])}
    assert markers and markers == {c["n"] for c in data["citations"]}
    assert all(c["url"].startswith("https://") and len(c["url"]) > 20 for c in data["citations"])
