"""Nothing from the corpus or a user can inject markup or script into the page."""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser

import pytest

from bot.schema import Citation, GuardDecision, Reply
from bot.web import render

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "<style>body{display:none}</style>",
    '<div style="position:fixed;inset:0">cover</div>',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://tracker.example/p.png)",
    '<form action="https://evil.example"><input name=t></form>',
    "<object data=x></object><embed src=x>",
    '"><script>alert(1)</script>',
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content=0;url=https://evil.example>",
    "$$\\href{javascript:alert(1)}{x}$$",
]

SAFE_TAGS = {
    "a", "article", "aside", "b", "blockquote", "br", "code", "details", "div", "em", "h2", "h3", "h4", "header", "pre", "i",
    "hr", "li", "ol", "p", "section", "span", "strong", "summary", "sup", "table", "tbody", "td", "th", "thead", "time",
    "tr", "ul",
}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(fragment: str) -> None:
    """Parse the fragment as a browser would and check every element and attribute."""
    parser = _Elements()
    parser.feed(fragment)
    for tag, attrs in parser.elements:
        assert tag in SAFE_TAGS, (tag, fragment)
        for name, value in attrs.items():
            assert not name.startswith("on") and name not in ("style", "src", "srcdoc", "action", "formaction"), (name, fragment)
            if name == "href":
                assert value.startswith(("https://", "http://", "mailto:", "#kb-src-")), (value, fragment)
            if name == "class":
                assert all(c.startswith("kb-") for c in value.split()), value
            if name == "target":
                assert value == "_blank"
        if tag == "a" and attrs.get("target") == "_blank":
            assert "noopener" in attrs.get("rel", "")


@pytest.mark.parametrize("attack", ATTACKS)
def test_user_text_is_shown_literally(attack):
    out = render.user_html(attack)
    assert_safe(out)
    assert out.startswith('<div class="kb-user" dir="auto">') and out.endswith("</div>")
    # The visitor sees exactly what they typed (as text): no tag, link or Markdown survives.
    assert "<a" not in out and "<strong" not in out and "<em" not in out


@pytest.mark.parametrize("attack", ATTACKS)
def test_corpus_markdown_cannot_inject(attack):
    assert_safe(render.markdown_html(f"Intro **bold** {attack} outro"))


@pytest.mark.parametrize("attack", ATTACKS)
def test_answer_sources_and_trace_cannot_inject(attack):
    cite = Citation(
        n=1, source_id="x", title=f"Title {attack}", source_org=f"Org {attack}", url="javascript:alert(1)",
        published=dt.date(2020, 1, 2), evidence=attack, passage=f"Passage {attack} … second {attack}",
    )
    reply = Reply(
        text=f"Answer {attack} [1].",
        citations=(cite,),
        warnings=(f"Warning {attack}",),
        guard=GuardDecision(label=attack, reason=attack, scores={attack: 0.5}),
        trace={
            "query": {"text": attack},
            "retrieved": [{"chunk_id": attack, "text": attack, "heading": attack, "score": 0.5}],
            "sentences": [{"sentence": attack, "chunk_id": attack, "citation": 1, "support": 0.9}],
            "warnings": [{"id": attack, "why": attack}],
            "output_guard": {"removed": [attack]},
            "timings_ms": {attack: 1.0},
        },
    )
    for fragment in (
        render.answer_html(reply, 1),
        render.streaming_html(reply.text, 1, [1]),
        render.sources_html([(1, attack, reply.citations)], title="Sources", empty="none"),
        render.trace_html(reply),
        render.conversation_html([{"role": "user", "content": attack}, {"role": "assistant", "content": attack}]),
        render.notice_html(attack, "warn"),
    ):
        assert_safe(fragment)


def test_citation_markers_link_to_the_sources_panel():
    reply = Reply(
        text="Kratom can harm the liver [1]. It is unregulated [2]. Stray [9] stays text.",
        citations=(
            Citation(n=1, source_id="a", title="A", source_org="Org A", url="https://a.example", passage="pa"),
            Citation(n=2, source_id="b", title="B", source_org="Org B", url="https://b.example", passage="pb"),
        ),
    )
    out = render.answer_html(reply, 3)
    assert 'href="#kb-src-3-1"' in out and 'href="#kb-src-3-2"' in out
    assert "#kb-src-3-9" not in out and "&#91;9&#93;" in out
    panel = render.sources_html([(3, "q", reply.citations)], title="Sources", empty="none")
    assert 'id="kb-src-3-1"' in panel and 'id="kb-src-3-2"' in panel
    assert 'href="https://a.example"' in panel and 'target="_blank"' in panel and "noopener" in panel


def test_source_card_shows_what_visitors_need():
    cite = Citation(
        n=1, source_id="liver", title="Kratom and liver injury", source_org="LiverTox (NIH)",
        url="https://www.ncbi.nlm.nih.gov/books/NBK548231/", published=dt.date(2016, 4, 16),
        evidence="systematic_review", passage="Case reports describe liver injury. … Most recovered.",
    )
    card = render.source_card(cite, 1)
    for needed in ("Kratom and liver injury", "LiverTox (NIH)", "Apr 16, 2016", "Systematic review",
                   "https://www.ncbi.nlm.nih.gov/books/NBK548231/", "Case reports describe liver injury.", "Most recovered."):
        assert needed in card
    assert "undated" not in card


def test_undated_source_card_says_so():
    cite = Citation(n=1, source_id="liver", title="Kratom and liver injury", source_org="LiverTox (NIH)",
                    url="https://www.ncbi.nlm.nih.gov/books/NBK548231/", published=None, passage="Case reports.")
    card = render.source_card(cite, 1)
    assert "source page undated" in card and "<time" not in card


def test_reply_styles():
    base = dict(text="Call 911 now.", guard=GuardDecision(label="emergency", action="escalate"))
    assert "kb-emergency" in render.answer_html(Reply(emergency=True, **base), 1, emergency_label="Emergency")
    assert "Emergency" in render.answer_html(Reply(emergency=True, **base), 1, emergency_label="Emergency")
    refusal = render.answer_html(Reply(text="I can't give dosing amounts.", refused=True), 1)
    assert "kb-refusal" in refusal and "kb-emergency" not in refusal and "kb-badge" not in refusal


def test_fragments_are_single_raw_html_blocks():
    # A blank line would let the chat's Markdown pass re-interpret the rest.
    reply = Reply(text="Para one.\n\n- item\n- item two\n\nPara two.", warnings=("w1", "w2"))
    for fragment in (render.answer_html(reply, 1), render.user_html("a\n\nb\n\n\nc")):
        assert "\n" not in fragment


def test_user_text_keeps_every_printable_character():
    text = "emoji 🙂🧪, RTL مرحبا שלום, accents é ü, CJK 漢字, math 2*3_4 [x](y) `c` $5"
    out = render.user_html(text)
    visible = re.sub(r"<[^>]+>", "", out)
    import html

    assert html.unescape(visible) == text


def test_safe_text_and_zalgo():
    assert render.safe_text("a\x00b\x1b[31mc\ud800") == "ab[31mc\ufffd"
    zalgo = "z" + "\u0301" * 40 + "a"
    assert render.tame_combining(zalgo) == "z" + "\u0301" * 3 + "a"
    assert render.user_html(zalgo).count("\u0301") == 3


def test_long_input_is_shown_in_full():
    out = render.user_html("word " * 20_000)
    assert out.count("word") == 20_000


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_sanitizer_itself_removes_raw_attacks(attack):
    # The last line of defence, tested on raw HTML (not only after escaping and Markdown).
    assert_safe(render.sanitize(f'<div class="kb-answer evil-class">{attack}</div>'))
    assert "evil-class" not in render.sanitize('<div class="kb-answer evil-class">x</div>')


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=400)
_HTMLISH = st.lists(st.sampled_from(ATTACKS + ["\n\n", "**", "[1]", "<", ">", "&", '"', "'", "\u202e", "\u0301" * 5, "\x00", "\ud800", "\udfff"]), max_size=8).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_ANY_TEXT, _HTMLISH))
def test_any_user_text_renders_safely(text):
    out = render.user_html(text)
    assert_safe(out)
    assert "\n" not in out and "\x00" not in out
    out.encode("utf-8")  # never a lone surrogate on the wire


def test_markdown_headings_in_answers_and_notes_stay_text():
    # Found by the property test below: a note reading "#" became an empty <h1> in the bubble.
    reply = Reply(text="# Kratom facts\n\nLiver injury is rare [1]\n---", warnings=("#", "Note\n==="))
    out = render.answer_html(reply, 1)
    assert not re.search(r"<h[1-6]", out), out
    assert "<p># Kratom facts</p>" in html.unescape(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_ANY_TEXT, _HTMLISH), st.one_of(_ANY_TEXT, _HTMLISH))
def test_any_corpus_text_renders_safely(body, title):
    cite = Citation(n=1, source_id="x", title=render.safe_text(title) or "t", source_org="o", url="https://x.example",
                    passage=render.safe_text(body))
    reply = Reply(text=render.safe_text(body) + " [1]", citations=(cite,), warnings=(render.safe_text(title),))
    for fragment in (render.answer_html(reply, 2), render.sources_html([(2, body, reply.citations)], title="S", empty="e")):
        assert_safe(fragment)
        assert "\n" not in fragment
        fragment.encode("utf-8")
