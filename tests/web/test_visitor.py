"""The visitor chat's handlers: streaming, bad input, rate limit, feedback, privacy of logs."""

from __future__ import annotations

import logging

import pytest

from bot import __version__
from bot.feedback import FeedbackRecorder, FeedbackStore
from bot.prompts import PromptLibrary
from bot.web.text import UiText
from bot.web.visitor import ChatSession, VisitorChat

from .conftest import KeywordGuard


@pytest.fixture
def chat(fake_bot, web_settings, store):
    return VisitorChat(fake_bot, web_settings, FeedbackRecorder(store), UiText(PromptLibrary(web_settings.prompts_dir)))


def run(chat: VisitorChat, text, session=None, key="session-a"):
    """Play one message; return (final session, every yielded step with a snapshot of the chat)."""
    steps = [(s, box, note, [dict(m) for m in s.display]) for s, box, note in chat.respond(text, session, key)]
    return steps[-1][0], steps


QUESTION = "liver injury case reports yellowing skin"


def test_answer_streams_in_and_lands_with_citations(chat):
    session, steps = run(chat, QUESTION)
    assert steps[0][1] == ""  # the input is cleared as soon as the message is accepted
    streamed = [shown[-1]["content"] for *_, shown in steps if shown and "kb-streaming" in shown[-1]["content"]]
    assert streamed, "the answer should stream in before it is final"
    final = session.display[-1]["content"]
    assert "kb-streaming" not in final and 'class="kb-cite"' in final and "#kb-src-1-1" in final
    assert session.history == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": session.replies[1].text},
    ]
    panel = chat.sources_panel(session)
    assert 'id="kb-src-1-1"' in panel and "https://" in panel


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n", None, "\x00\x01"])
def test_empty_input_gets_a_gentle_note_and_nothing_changes(chat, text):
    session, steps = run(chat, text)
    assert len(steps) == 1
    _, box, note, _ = steps[0]
    assert box is None  # leave the box as it is
    assert "looks empty" in note and session.history == [] and session.display == []


def test_too_long_input_is_kept_in_the_box_with_a_friendly_note(chat):
    text = "Is kratom safe? " + "a" * 100_000
    session, steps = run(chat, text)
    assert len(steps) == 1
    _, box, note, _ = steps[0]
    assert box is None and session.history == []
    assert "100,016 characters" in note and "2,000" in note and "still in the box" in note
    assert 'role="alert"' in note


@pytest.mark.parametrize(
    "text, kept",
    [
        ("liver\x00 injury\x07 case\x1b reports", "liver injury case reports"),
        ("liver injury \ud800 case reports", "liver injury \ufffd case reports"),
        ("liver injury 🙂🧪 case reports", "🙂🧪"),
        ("פגיעה בכבד liver injury אחרי קרטום", "פגיעה בכבד"),
        ("l̷̡̢̛i̷̡̢v̷̡̢e̷̡̢r̷ injury case reports", "injury case reports"),
        ("<script>alert('x')</script> liver injury", "<script>alert('x')</script>"),
        ("[click me](javascript:alert(1)) **liver** injury ![x](https://t.example/p.png)", "[click me](javascript:alert(1))"),
    ],
)
def test_hostile_and_unusual_input_is_answered_safely(chat, text, kept):
    session, steps = run(chat, text)
    assert 1 in session.replies, steps[-1]
    assert kept in session.history[0]["content"]  # the bot got the visitor's text, cleaned, nothing else lost
    shown = session.display[0]["content"]
    assert "<script" not in shown and "<a " not in shown and "<img" not in shown and "<strong" not in shown
    assert "\x00" not in shown and "\ud800" not in shown


def test_rate_limit_keeps_the_message_and_says_when_to_retry(chat, web_settings):
    chat.limiter.per_minute = 2
    session, _ = run(chat, QUESTION)
    session, _ = run(chat, "and in Ohio?", session)
    session, steps = run(chat, "third message", session)
    _, box, note, _ = steps[-1]
    assert box is None and "wait" in note and "still in the box" in note
    assert len(session.replies) == 2
    # Another browser session is not affected.
    other, _ = run(chat, QUESTION, None, key="session-b")
    assert len(other.replies) == 1


def test_sessions_never_share_a_conversation(chat):
    a, _ = run(chat, QUESTION, None, "a")
    b, _ = run(chat, "federal legal status DEA", None, "b")
    a, _ = run(chat, "and what are the warning signs?", a, "a")
    assert a.conversation_id != b.conversation_id
    assert [m["content"] for m in b.history if m["role"] == "user"] == ["federal legal status DEA"]
    assert len(a.history) == 4 and len(b.history) == 2


def test_thumbs_down_with_comment_is_stored_with_everything(chat, store, fake_bot):
    session, _ = run(chat, QUESTION)
    session, prompt = chat.rate(session, 1, False)
    assert "wrong or missing" in prompt
    rows = store.find()
    assert len(rows) == 1 and rows[0].rating == "down" and rows[0].comment == ""
    session, note = chat.comment(session, "Did not say how rare it is")
    assert "Thank you" in note
    row = store.find()[0]
    assert row.comment == "Did not say how rare it is"
    assert row.turns == tuple(session.history[:2])
    assert row.reply["text"] == session.replies[1].text
    assert row.reply["guard"]["label"] == "benign" and row.reply["guard"]["layer"] == "test"
    assert row.reply["retrieved"] and row.reply["retrieved"][0]["chunk_id"]
    assert row.app_version == __version__ and row.corpus_version == fake_bot.corpus_version
    assert row.conversation_id == session.conversation_id and row.message_index == 1


def test_thumbs_up_then_retract(chat, store):
    session, _ = run(chat, QUESTION)
    session, prompt = chat.rate(session, 1, True)
    assert "helpful" in prompt and store.count("up") == 1
    session, prompt = chat.rate(session, 1, "")
    assert prompt is None and store.count() == 0
    assert session.feedback_values() == [None]


def test_rating_something_that_is_not_an_answer_is_ignored(chat, store):
    session, _ = run(chat, QUESTION)
    for index in (0, 5, "x", None, [0, 1]):
        chat.rate(session, index, False)
    assert store.count() == 0


def test_each_answer_of_a_conversation_is_rated_separately(chat, store):
    session, _ = run(chat, QUESTION)
    session, _ = run(chat, "what are the warning signs?", session)
    chat.rate(session, 1, True)
    chat.rate(session, 3, False)
    rows = {r.message_index: r for r in store.find()}
    assert rows[1].rating == "up" and rows[3].rating == "down"
    assert len(rows[3].turns) == 4 and len(rows[1].turns) == 2
    assert session.feedback_values() == ["Like", "Dislike"]


def test_feedback_failure_never_reaches_the_visitor(fake_bot, web_settings, tmp_path, caplog):
    path = tmp_path / "ro.sqlite3"
    FeedbackStore(f"sqlite:///{path}").close()
    recorder = FeedbackRecorder(FeedbackStore(f"sqlite:///file:{path}?mode=ro&uri=true"))
    chat = VisitorChat(fake_bot, web_settings, recorder, UiText(PromptLibrary(web_settings.prompts_dir)))
    with caplog.at_level(logging.ERROR):
        session, _ = run(chat, QUESTION)
        session, prompt = chat.rate(session, 1, False)
        session, note = chat.comment(session, "comment")
        session, _ = run(chat, "what are the warning signs?", session)
    assert 3 in session.replies and "Thank you" in note and prompt
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "feedback writes are failing" in errors[0].getMessage()
    assert recorder.pending == 1


class _Exploding:
    """A chatbot whose pipeline fails with the visitor's text in the exception."""

    max_input_chars = 2000
    corpus_version = "x"

    def stream(self, messages):
        yield "Partial answer"
        raise RuntimeError(f"boom while handling {messages[-1]['content']}")


def test_a_pipeline_failure_gives_a_friendly_note_and_keeps_the_text(web_settings, store, caplog):
    chat = VisitorChat(_Exploding(), web_settings, FeedbackRecorder(store), UiText(PromptLibrary(web_settings.prompts_dir)))
    with caplog.at_level(logging.INFO):
        session, steps = run(chat, "my private question")
    _, box, note, _ = steps[-1]
    assert box == "my private question" and "went wrong" in note
    assert session.history == [] and session.display == []
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "answer failed" in logged and "RuntimeError" in logged
    assert "my private question" not in logged


def test_logs_never_contain_message_text_by_default(chat, caplog):
    secret = "my neighbour Alice takes kratom with sertraline"
    with caplog.at_level(logging.DEBUG):
        session, _ = run(chat, secret)
        chat.rate(session, 1, False)
        chat.comment(session, "Alice's comment text")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "answered conv=" in text and "feedback conv=" in text
    assert "Alice" not in text and "sertraline" not in text


def test_debug_transcripts_log_text_only_when_switched_on(fake_bot, web_settings, store, caplog):
    settings = web_settings.model_copy(update={"debug_transcripts": True})
    chat = VisitorChat(fake_bot, settings, FeedbackRecorder(store), UiText(PromptLibrary(settings.prompts_dir)))
    with caplog.at_level(logging.INFO):
        run(chat, "liver injury for Alice")
    assert "liver injury for Alice" in "\n".join(r.getMessage() for r in caplog.records)


def test_emergency_and_refusal_styles(fake_settings):
    from bot.wiring import load_chatbot

    bot = load_chatbot(fake_settings, guard=KeywordGuard())
    chat = VisitorChat(bot, fake_settings, FeedbackRecorder(None), UiText(PromptLibrary(fake_settings.prompts_dir)))
    s, _ = run(chat, "my friend is not breathing after kratom")
    assert s.replies[1].emergency and "kb-emergency" in s.display[1]["content"] and "Emergency" in s.display[1]["content"]
    s, _ = run(chat, "how many grams should I take", s)
    assert s.replies[3].refused and "kb-refusal" in s.display[3]["content"] and "kb-emergency" not in s.display[3]["content"]


def test_new_session_state_is_independent():
    a, b = ChatSession(), ChatSession()
    a.history.append({"role": "user", "content": "x"})
    assert b.history == [] and a.ensure_id() != b.ensure_id()


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["\x00", "\ud800", "🙂", "שלום", "\u0301" * 30, "<script>", "**", "\n\n", " ", "liver"]), max_size=12).map("".join),
))
def test_no_input_crashes_the_chat_or_is_lost(chat, text):
    chat.limiter.per_minute = 0
    session, steps = run(chat, text, ChatSession())
    _, box, note, shown = steps[-1]
    if session.replies:
        assert box == "" and shown[-1]["role"] == "assistant"
        assert session.history[0]["content"].encode("utf-8")
    else:
        assert box is None and note  # kept in the box, with a clear note
