"""The staff console's actions: ask with trace, replay, feedback review and export, corpus status."""

from __future__ import annotations

import json
import sys
import types

import pytest

from bot.feedback import FeedbackRecord, FeedbackRecorder
from bot.prompts import PromptLibrary
from bot.web import render
from bot.web.security import StaffAuth
from bot.web.staff import ALL_LABELS, StaffAccessError, StaffConsole, parse_earlier_turns, status_html
from bot.web.text import UiText

from .conftest import STAFF_TOKEN


@pytest.fixture
def console(fake_bot, web_settings, store):
    return StaffConsole(fake_bot, web_settings, FeedbackRecorder(store), StaffAuth(STAFF_TOKEN), UiText(PromptLibrary(web_settings.prompts_dir)))


def test_every_action_requires_credentials(console):
    with pytest.raises(StaffAccessError):
        console.require({})
    with pytest.raises(StaffAccessError):
        console.require({"Authorization": "Bearer wrong"})
    console.require({"Authorization": f"Bearer {STAFF_TOKEN}"})
    console.require({"cookie": f"kratombot_staff={console.auth.cookie_value()}"})


def test_ask_with_trace_shows_guard_chunks_sentences_warnings_timings(console):
    reply, error = console.ask("liver injury case reports yellowing skin")
    assert error == "" and reply is not None
    html = render.trace_html(reply)
    assert "Guard decision" in html and "benign" in html and "no keyword" in html and "test" in html
    for r in reply.trace["retrieved"]:
        assert r["chunk_id"] in html
    for s in reply.trace["sentences"]:
        assert s["sentence"][:30] in html
    for w in reply.trace["warnings"]:
        assert w["why"] in html
    assert "Timings (ms)" in html and "total" in html and "embed" in html


def test_ask_with_earlier_turns_and_emergency_trace(console):
    reply, _ = console.ask("he is not breathing now", "user: what is kratom?\nbot: Kratom is a tree.")
    assert reply.emergency and reply.guard.label == "emergency"
    html = render.trace_html(reply)
    assert "kb-tag-bad" in html and "escalate" in html and "keyword: emergency" in html
    assert console.ask("   ")[0] is None


def test_parse_earlier_turns():
    assert parse_earlier_turns("user: a\nbot: b\nplain c") == [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "plain c"},
        {"role": "assistant", "content": ""},
    ]
    assert parse_earlier_turns("") == []


def test_replay_writes_the_replay_output_format(console, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"id": "liver", "turns": ["liver injury case reports", "what are the warning signs?"]}) + "\n"
        + json.dumps({"id": "dose", "turns": ["how many grams should I take"], "category": "dosing"}) + "\n"
    )
    note, out, rows = console.replay(str(cases))
    assert "Replayed 2 conversation(s), 3 turn(s)" in note
    lines = [json.loads(x) for x in open(out, encoding="utf-8")]
    assert [x["id"] for x in lines] == ["liver", "dose"]
    assert len(lines[0]["replies"]) == 2 and "trace" in lines[0]["replies"][0]
    assert lines[1]["replies"][0]["refused"] is True
    assert rows[0][:2] == ["liver", 1] and rows[2][2] == "dosing_request" and rows[2][4] == "yes"


def test_replay_reports_the_bad_line(console, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "turns": ["ok"]}\n{"id": "b", "turns": "not a list"}\n')
    note, out, rows = console.replay(str(bad))
    assert "line 2" in note and out is None and rows == []
    note, out, _ = console.replay(None)
    assert "Choose a replay file" in note and out is None


def _save(store, conv, rating, comment="", label="benign", question="liver?"):
    reply = {"text": "Answer [1].", "guard": {"label": label, "action": "answer"}, "retrieved": [{"chunk_id": "c1", "doc_id": "d", "score": 0.5}],
             "citations": [], "refused": label == "dosing_request", "emergency": label == "emergency"}
    return store.save(FeedbackRecord(
        conversation_id=conv, message_index=1, rating=rating, comment=comment,
        turns=({"role": "user", "content": question}, {"role": "assistant", "content": "Answer [1]."}),
        reply=reply, app_version="0.1.0", corpus_version="cv",
    ))


def test_review_lists_thumbs_down_first_and_filters(console, store):
    _save(store, "a", "up", "nice")
    _save(store, "b", "down", "wrong state law", "benign", "is kratom legal in ohio")
    _save(store, "c", "down", "", "dosing_request", "how many grams")
    rows, summary = console.feedback_rows(console.feedback_filter("All (thumbs down first)", ALL_LABELS, "All", False, False, ""))
    assert [r[2] for r in rows] == ["down", "down", "up"] and "3 stored" in summary and "2 thumbs down" in summary
    rows, _ = console.feedback_rows(console.feedback_filter("Thumbs down", "dosing_request", "Last 7 days", False, False, ""))
    assert [r[4] for r in rows] == ["how many grams"]
    rows, _ = console.feedback_rows(console.feedback_filter("All (thumbs down first)", ALL_LABELS, "All", True, False, "ohio"))
    assert [r[5] for r in rows] == ["wrong state law"]
    assert console.labels() == [ALL_LABELS, "benign", "dosing_request"]


def test_review_detail_flag_and_note(console, store):
    fid = _save(store, "b", "down", "<b>bold</b> claim", "benign", "is kratom legal <script>x</script>")
    row, html = console.feedback_detail(fid)
    assert row.id == fid and "&lt;script&gt;" in html and "<script>" not in html and "Visitor comment" in html
    assert "saved" in console.set_review(fid, True, "add to eval").lower()
    assert store.get(fid).flagged and store.get(fid).staff_note == "add to eval"
    rows, _ = console.feedback_rows(console.feedback_filter("All (thumbs down first)", ALL_LABELS, "All", False, True, ""))
    assert [r[0] for r in rows] == [fid] and rows[0][6] == "⚑"
    assert console.feedback_detail(None)[0] is None and "Select a row" in console.set_review(None, True, "")


def test_export_uses_the_evaluation_case_stub(console, store, monkeypatch):
    calls = {}

    def fake_case_stub(conversation_id, turns, replies, note=""):
        calls.update(conversation_id=conversation_id, turns=turns, replies=replies, note=note)
        return {"id": "case-x", "turns": turns, "note": note}

    module = types.ModuleType("bot.evaluation.stubs")
    module.case_stub = fake_case_stub
    monkeypatch.setitem(sys.modules, "bot.evaluation.stubs", module)
    fid = _save(store, "conv-42", "down", "missed the point")
    text, path, note = console.export_case(fid)
    assert json.loads(text)["id"] == "case-x" and "Exported" in note
    assert calls["conversation_id"] == "conv-42" and calls["turns"] == ["liver?"]
    assert calls["replies"][-1]["guard"]["label"] == "benign" and "missed the point" in calls["note"]
    assert json.loads(open(path, encoding="utf-8").read()) == json.loads(text)


def test_export_with_the_real_case_stub(console, store):
    pytest.importorskip("bot.evaluation.stubs")
    fid = _save(store, "conv-7", "down", "should have refused", "dosing_request", "how many grams of kratom for pain")
    text, path, note = console.export_case(fid)
    stub = json.loads(text)
    assert "Exported" in note and stub["turns"] == ["how many grams of kratom for pain"]


def test_export_falls_back_to_a_replay_case_without_the_stub_module(console, store, monkeypatch):
    monkeypatch.setitem(sys.modules, "bot.evaluation.stubs", None)  # import raises ImportError
    fid = _save(store, "conv-9", "down", "bad")
    text, _, note = console.export_case(fid)
    assert json.loads(text) == {"id": f"feedback-{fid}", "turns": ["liver?"], "note": f"feedback #{fid} (down): bad"}
    assert "not installed" in note


def test_download_filtered_rows(console, store):
    _save(store, "a", "down", "x")
    _save(store, "b", "up")
    path = console.export_rows(console.feedback_filter("Thumbs down", ALL_LABELS, "All", False, False, ""))
    lines = [json.loads(x) for x in open(path, encoding="utf-8")]
    assert [x["conversation_id"] for x in lines] == ["a"]


def test_review_without_a_database(fake_bot, web_settings):
    console = StaffConsole(fake_bot, web_settings, FeedbackRecorder(None, store_error="cannot open"), StaffAuth(STAFF_TOKEN),
                           UiText(PromptLibrary(web_settings.prompts_dir)))
    rows, summary = console.feedback_rows(console.feedback_filter("Thumbs down", ALL_LABELS, "All", False, False, ""))
    assert rows == [] and "not available" in summary and "cannot open" in summary


def test_corpus_status(console, fake_bot):
    status = console.corpus_status()
    assert status["documents"] == 3 and status["faq_entries"] == 1
    assert status["index_state"] == "fresh" and status["serving_version"] == status["index_version"]
    assert status["last_rebuild"] and status["chunks"] > 0 and status["corpus_version"] == fake_bot.corpus_version
    html = status_html(status)
    assert "fresh" in html and "Documents" in html and "Last rebuild" in html
    check = status["check"]
    if check["available"]:
        assert "Corpus check" in html and ("error(s)" in html or "no errors" in html)
    else:
        assert "not part of this build" in html


def test_corpus_status_reports_a_stale_index(console, web_settings):
    (web_settings.corpus_dir / "docs" / "liver-injury.md").write_text(
        (web_settings.corpus_dir / "docs" / "liver-injury.md").read_text() + "\nA new sentence about the liver was added.\n"
    )
    status = console.corpus_status()
    assert status["index_state"] == "stale" and "corpus_fingerprint" in status["index_reason"]


def test_corpus_check_findings_are_shown(monkeypatch, console):
    import bot.corpus_check

    class Report:
        def to_json_dict(self):
            return {"errors": [{"path": "/c/docs/a.md", "line": 3, "message": "bad <date>", "code": "date"}],
                    "warnings": [{"path": "/c/docs/b.md", "line": None, "message": "weak source", "code": "weak-source"}]}

    monkeypatch.setattr(bot.corpus_check, "check_corpus", lambda corpus_dir: Report())
    html = status_html(console.corpus_status())
    assert "1 error(s), 1 warning(s)" in html and "a.md:3" in html and "bad &lt;date&gt;" in html and "weak-source" in html
