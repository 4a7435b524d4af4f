"""bench/_appclient.py: telling a complete answer from notices and unfinished streams."""

from __future__ import annotations

from .conftest import ROOT, load_bench


def _outputs(messages, notice=""):
    chat = {"value": messages, "__type__": "update"}
    return [chat, None, "<div>sources</div>", "", notice, {"visible": False}]


def _answer(html):
    return {"role": "assistant", "content": [{"text": html, "type": "text"}]}


USER = {"role": "user", "content": [{"text": "<div class='kb-user'>q</div>", "type": "text"}]}
DONE = _answer('<div class="kb-answer"><div class="kb-body"><p>Kratom is a tree [1].</p></div></div>')


def test_a_new_complete_answer_counts():
    client = load_bench("_appclient")
    ok, error, chars = client.classify(_outputs([USER, DONE]), answers_before=0)
    assert ok and error == "" and chars > 10


def test_the_previous_answer_is_not_a_new_one():
    client = load_bench("_appclient")
    info = '<div class="kb-notice kb-notice-info">Your message looks empty.</div>'
    assert client.classify(_outputs([USER, DONE], info), answers_before=1) == (False, "notice", 0)
    assert client.classify(_outputs([USER, DONE]), answers_before=1) == (False, "no_answer", 0)


def test_warnings_are_errors_by_kind():
    from bot.prompts import PromptLibrary

    client = load_bench("_appclient")
    prompts = PromptLibrary(ROOT / "prompts")
    rate = f'<div role="alert" class="kb-notice kb-notice-warn">{prompts.render("ui_rate_limited", seconds=3)}</div>'
    error = f'<div role="alert" class="kb-notice kb-notice-warn">{prompts.render("ui_error")}</div>'
    other = '<div role="alert" class="kb-notice kb-notice-warn">Your message is 3,000 characters long.</div>'
    assert client.classify(_outputs([USER], rate))[1] == "rate_limited"
    assert client.classify(_outputs([USER], error))[1] == "app_error"
    assert client.classify(_outputs([USER], other))[1] == "error_notice"


def test_a_still_streaming_answer_is_not_complete():
    client = load_bench("_appclient")
    streaming = _answer('<div class="kb-answer kb-streaming"><div class="kb-body"><p>Kratom</p></div></div>')
    placeholder = _answer('<div class="kb-answer kb-streaming"><div class="kb-body"><p>…</p></div></div>')
    assert client.classify(_outputs([USER, streaming]))[0] is False
    assert client._has_answer_text(_outputs([USER, streaming]), 0)
    assert not client._has_answer_text(_outputs([USER, placeholder]), 0)
    assert not client._has_answer_text(_outputs([USER]), 0)
