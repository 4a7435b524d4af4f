"""A shortened load and soak test (bench/load_soak.py) against the real app process on loopback.

10 concurrent sessions × 5 turns × 3 rounds with the fake embedder: zero 5xx, every message
answered, no cross-session leakage, flat RSS, every feedback write stored. The full run
(50 × 20 × 3 with the real model and corpus) is ``.venv/bin/python bench/load_soak.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import FIXTURE_CORPUS, ROOT


def _load_bench():
    spec = importlib.util.spec_from_file_location("load_soak", ROOT / "bench" / "load_soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("load_soak", module)
    spec.loader.exec_module(module)
    return module


soak = _load_bench()


@pytest.mark.integration
@pytest.mark.slow
def test_shortened_load_and_soak(tmp_path):
    cfg = soak.Config(
        sessions=10, turns=5, rounds=3, corpus=FIXTURE_CORPUS, model="fake", data_dir=tmp_path / "app",
        rss_tolerance_mb=60.0, start_timeout_s=300.0,
    )
    report = soak.run(cfg, log=lambda *_: None)
    assert report["problems"] == [] and report["ok"], json.dumps(report, indent=2)
    assert [r["answered"] for r in report["rounds"]] == [50, 50, 50]
    assert all(r["http_5xx"] == 0 and r["server_errors"] == 0 and r["leaks"] == 0 for r in report["rounds"])
    assert report["feedback_rows_expected"] == 150


# -- the checks themselves can fail ---------------------------------------------------------------


def _chat_outputs(*user_texts):
    value = []
    for text in user_texts:
        value.append({"role": "user", "content": [{"text": f"<div>{text}</div>", "type": "text"}]})
        value.append({"role": "assistant", "content": [{"text": "<div class='kb-answer'>A.</div>", "type": "text"}]})
    return [{"value": value}, None, "<div>sources</div>", "", ""]


def test_leak_check_flags_another_sessions_marker_and_wrong_turns():
    tally = soak.Tally()
    session = soak.Session(None, "", None, "aaaa1111", tally, 1)
    session.check_leaks("aaaa1111r1", 2, _chat_outputs("q (ref aaaa1111r1-t1)", "q (ref aaaa1111r1-t2)"))
    assert tally.leaks == []
    session.check_leaks("aaaa1111r1", 2, _chat_outputs("q (ref aaaa1111r1-t1)", "q (ref bbbb2222r1-t2)"))
    assert any("bbbb2222r1" in leak for leak in tally.leaks)
    tally.leaks.clear()
    session.check_leaks("aaaa1111r1", 2, _chat_outputs("q (ref aaaa1111r1-t2)"))
    assert tally.leaks == ["aaaa1111r1 turn 2: its chat shows turns [2]"]


def test_feedback_check_finds_missing_changed_and_extra_rows(tmp_path):
    from bot.feedback import FeedbackRecord, FeedbackStore

    url = f"sqlite:///{tmp_path / 'f.sqlite3'}"
    store = FeedbackStore(url)

    def save(ref, index, rating, comment=""):
        turns = ({"role": "user", "content": f"q (ref {ref}-t1)"}, {"role": "assistant", "content": "a"})
        store.save(FeedbackRecord(conversation_id=ref, message_index=index, rating=rating, comment=comment, turns=turns))

    save("aaaa1111r1", 1, "down", "c")
    save("bbbb2222r1", 1, "up")
    expected = {("aaaa1111r1", 1): ("down", "c"), ("bbbb2222r1", 1): ("up", "")}
    assert soak.check_feedback(url, expected) == []
    problems = soak.check_feedback(url, {**expected, ("cccc3333r1", 1): ("up", "")})
    assert problems and "1 feedback write(s) missing" in problems[0]
    assert "differ" in " ".join(soak.check_feedback(url, {**expected, ("bbbb2222r1", 1): ("down", "")}))
    assert "unexpected" in " ".join(soak.check_feedback(url, {("aaaa1111r1", 1): ("down", "c")}))
