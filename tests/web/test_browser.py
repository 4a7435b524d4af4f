"""The real page in headless Chromium (Debian's), driven by Playwright, against the app on a free loopback port.

The app runs in-process with the real embedding model over the fixture corpus. Until the
lead's input guard lands, a keyword-scripted guard (tests/web/conftest.py) decides, so
that the emergency and refusal styles can be seen; production code has no test hook.
Screenshots of every step go to ./test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .conftest import ARTIFACTS, STAFF_TOKEN, ServerThread

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.fixture(scope="module")
def live_app(real_corpus_settings, real_corpus_bot, tmp_path_factory):
    """The full app (visitor page and staff console) with the real corpus, model and guard, on a free port."""
    from bot.web.app import create_app

    root = tmp_path_factory.mktemp("web-app")
    settings = real_corpus_settings.model_copy(update={
        "staff_token": STAFF_TOKEN,
        "rate_limit_per_minute": 120,
        "feedback_db": f"sqlite:///{root / 'feedback.sqlite3'}",
    })
    with ServerThread(create_app(real_corpus_bot, settings)) as server:
        server.settings = settings
        server.chatbot = real_corpus_bot
        yield server


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_app, request):
    """A fresh browser context (its own cookies and Gradio session) that records outside requests."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(45_000)
    page.outside_requests = []

    def watch(req):
        host = urlparse(req.url).hostname
        if req.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in ("127.0.0.1", "localhost"):
            page.outside_requests.append(req.url)

    page.on("request", watch)
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=False)


def ask(page, text: str):
    box = page.locator("#kb-input textarea")
    box.fill(text)
    box.press("Enter")


def last_answer(page):
    page.wait_for_selector("#kb-chat .kb-answer:not(.kb-streaming) >> nth=-1")
    return page.locator("#kb-chat .kb-answer:not(.kb-streaming)").last


def open_visitor_page(page, live_app):
    page.goto(live_app.url + "/")
    page.wait_for_selector("#kb-input textarea")


def test_question_gets_a_cited_answer_and_the_sources_panel_fills(page, live_app):
    open_visitor_page(page, live_app)
    assert "Information, not medical advice" in page.inner_text("#kb-banner")
    assert "1-800-222-1222" in page.inner_text("#kb-banner") and "911" in page.inner_text("#kb-banner")
    assert "Each answer lists its sources here" in page.inner_text("#kb-sources")
    shot(page, "01-start")

    page.locator("#kb-chat button.example", has_text="Can kratom damage the liver?").click()
    answer = last_answer(page)
    markers = answer.locator("a.kb-cite")
    assert markers.count() >= 1
    card = page.locator("#kb-sources article.kb-source").first
    card.wait_for()
    text = card.inner_text()
    # The real corpus answers from the liver document, whose primary source is NIH LiverTox.
    assert "Kratom and liver injury" in text
    assert "LiverTox" in text
    # LiverTox pages carry no publication date; the card must say so instead of showing nothing.
    assert "source page undated" in text and "Case report" in text
    assert "liver" in card.locator("blockquote").first.inner_text().lower()
    link = card.locator(".kb-source-title a")
    assert link.get_attribute("href").startswith("https://") and link.get_attribute("target") == "_blank"
    # Every marker points at a source card that exists.
    for i in range(markers.count()):
        target = markers.nth(i).get_attribute("href")
        assert re.fullmatch(r"#kb-src-1-\d+", target) and page.locator(target).count() == 1

    markers.first.click()
    page.wait_for_selector("#kb-sources article.kb-source.kb-flash")
    # On a wide screen the Sources panel sits beside the chat.
    chat_box, sources_box = page.locator("#kb-chat").bounding_box(), page.locator("#kb-sources").bounding_box()
    assert sources_box["x"] > chat_box["x"] + chat_box["width"] - 1 and abs(sources_box["y"] - chat_box["y"]) < 80
    shot(page, "02-cited-answer")
    assert page.outside_requests == []

    # On a phone it moves below the chat, and nothing spills sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    chat_box, sources_box = page.locator("#kb-chat").bounding_box(), page.locator("#kb-sources").bounding_box()
    assert sources_box["y"] > chat_box["y"] + chat_box["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "02b-phone")


def test_emergency_message_is_shown_in_the_emergency_style(page, live_app):
    open_visitor_page(page, live_app)
    ask(page, "My friend took kratom and now he is not breathing")
    page.wait_for_selector("#kb-chat .kb-emergency")
    emergency = page.locator("#kb-chat .kb-emergency").last
    emergency.scroll_into_view_if_needed()
    assert "EMERGENCY" in emergency.locator(".kb-badge").inner_text().upper()
    assert "Call 911" in emergency.inner_text() and "1-800-222-1222" in emergency.inner_text()
    style = emergency.evaluate("el => { const s = getComputedStyle(el); return [s.borderLeftColor, s.borderLeftWidth, s.backgroundColor]; }")
    assert style[0] == "rgb(185, 28, 28)" and float(style[1].rstrip("px")) >= 4 and style[2] != "rgba(0, 0, 0, 0)"
    shot(page, "03-emergency")

    ask(page, "how many grams of kratom should I take?")
    page.wait_for_selector("#kb-chat .kb-refusal")
    refusal = page.locator("#kb-chat .kb-refusal").last
    assert "I can't give dosing amounts" in refusal.inner_text()
    assert refusal.locator(".kb-badge").count() == 0  # kind, not an alarm or an error
    shot(page, "04-refusal")


def test_thumbs_down_with_a_comment_is_stored_in_sqlite(page, live_app):
    from bot.feedback import FeedbackFilter, FeedbackStore

    open_visitor_page(page, live_app)
    ask(page, "What are the warning signs of liver injury from kratom?")
    last_answer(page)
    page.locator("#kb-chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector("#kb-feedback textarea")
    comment = f"Please say how rare this is <b>really</b> ({page.url[-4:]})"
    page.fill("#kb-feedback textarea", comment)
    shot(page, "05-thumbs-down-comment")
    page.click("#kb-feedback-send")
    page.wait_for_selector("#kb-notice .kb-notice-ok")
    shot(page, "06-feedback-thanks")

    store = FeedbackStore(live_app.settings.feedback_url)
    rows = store.find(FeedbackFilter(text="how rare this is"))
    assert len(rows) == 1
    row = rows[0]
    assert row.rating == "down" and row.comment == comment
    assert row.turns[0] == {"role": "user", "content": "What are the warning signs of liver injury from kratom?"}
    assert row.turns[-1]["role"] == "assistant" and row.reply["text"] == row.turns[-1]["content"]
    assert row.reply["guard"]["label"] == "benign" and row.reply["retrieved"]
    assert row.app_version and row.corpus_version == live_app.chatbot.corpus_version
    assert store.journal_mode() == "wal"
    assert not {c.name for c in store.table.columns} & {"ip", "ip_address", "user_agent", "session_hash"}
    store.close()


def test_bad_input_gets_a_clear_message_and_nothing_is_lost(page, live_app):
    open_visitor_page(page, live_app)
    long_text = "Is kratom safe for my liver? " + "x" * 2200
    ask(page, long_text)
    page.wait_for_selector("#kb-notice .kb-notice-warn")
    assert "still in the box" in page.inner_text("#kb-notice")
    assert page.input_value("#kb-input textarea") == long_text
    page.wait_for_function("() => (document.querySelector('#kb-input .kb-counter') || {}).textContent?.includes('/ 2,000 characters')")
    assert page.locator("#kb-input .kb-counter.over").count() == 1
    shot(page, "07-too-long")

    hostile = "<img src=x onerror=\"document.body.dataset.pwned=1\"> **liver** [x](javascript:alert(1)) שלום 🙂"
    ask(page, hostile)
    last_answer(page)
    user_bubble = page.locator("#kb-chat .kb-user").last
    assert user_bubble.inner_text() == hostile  # shown literally, nothing executed or dropped
    assert user_bubble.locator("img, a, strong").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    shot(page, "08-hostile-input")


def test_staff_console_is_refused_without_the_token_and_shows_a_trace_with_it(page, live_app):
    page.goto(live_app.url + "/staff/")
    assert page.url.endswith("/staff/login")
    shot(page, "09-staff-login")
    api = page.request.get(live_app.url + "/staff/config")
    assert api.status == 401

    page.fill("#token", "not the token")
    page.click("button[type=submit]")
    assert "not valid" in page.inner_text(".error")
    shot(page, "10-staff-refused")
    assert page.request.get(live_app.url + "/staff/config").status == 401

    page.fill("#token", STAFF_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#kb-staff-q textarea")
    page.fill("#kb-staff-q textarea", "Can kratom damage the liver?")
    page.press("#kb-staff-q textarea", "Enter")
    page.wait_for_selector("#kb-staff-trace .kb-trace")
    trace = page.inner_text("#kb-staff-trace")
    for heading in ("Guard decision", "Retrieved chunks", "Sentences and their chunks", "Warnings and why", "Timings (ms)"):
        assert heading in trace
    assert "liver-injury::" in trace and "benign" in trace and "total" in trace
    shot(page, "11-staff-trace")

    page.click("button[role=tab]:has-text('Corpus status')")
    page.wait_for_selector("#kb-corpus-status .kb-stats")
    assert "Documents" in page.inner_text("#kb-corpus-status")
    shot(page, "12-staff-corpus")

    # Review: a flagged thumbs-down conversation exported as an evaluation case stub.
    _store_feedback(live_app, "browser-review", "down", "Should have mentioned the hospital cases")
    page.click("button[role=tab]:has-text('Feedback')")
    page.click("#kb-fb-refresh")
    cell = page.locator("#kb-fb-table [role=gridcell]", has_text="Should have mentioned the hospital cases").first
    cell.wait_for()
    cell.click()
    page.wait_for_selector("#kb-fb-detail .kb-card")
    assert "Visitor comment" in page.inner_text("#kb-fb-detail")
    page.click("#kb-fb-export")
    page.wait_for_function("() => (document.querySelector('#kb-fb-case') || {}).innerText?.includes('turns')")
    shot(page, "13-staff-feedback")
    assert page.outside_requests == []


def _store_feedback(live_app, conversation: str, rating: str, comment: str) -> None:
    from bot.feedback import FeedbackRecord, FeedbackStore

    reply = live_app.chatbot.reply([{"role": "user", "content": "Can kratom damage the liver?"}])
    store = FeedbackStore(live_app.settings.feedback_url)
    store.save(FeedbackRecord(
        conversation_id=conversation, message_index=1, rating=rating, comment=comment,
        turns=({"role": "user", "content": "Can kratom damage the liver?"}, {"role": "assistant", "content": reply.text}),
        reply=reply.to_json_dict(), app_version="test", corpus_version=live_app.chatbot.corpus_version,
    ))
    store.close()
