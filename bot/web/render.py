"""Safe HTML for everything the web app shows: user text, answers, sources and staff traces.

Nothing reaches the page without passing ``sanitize``, an nh3 allow-list: no script,
style, iframe, image, form or event-handler attribute survives, links keep only
http(s)/mailto/#anchor targets, and only the app's own ``kb-*`` classes are kept.
User text is never interpreted as Markdown or HTML; corpus Markdown is rendered with
raw HTML disabled and then sanitized as well.

Every fragment is a single line of HTML wrapped in one element, so the chat
component's own Markdown pass treats it as one raw HTML block and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Sequence

import nh3

from ..schema import Citation, Reply

# -- sanitizing -----------------------------------------------------------------------------

_TAGS = {
    "a", "article", "aside", "b", "blockquote", "br", "code", "dd", "details", "div", "dl", "dt", "em",
    "footer", "h1", "h2", "h3", "h4", "header", "hr", "i", "li", "ol", "p", "pre", "section", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "time", "tr", "ul",
}
_CLASSES = {
    "kb-answer", "kb-body", "kb-badge", "kb-emergency", "kb-refusal", "kb-notes", "kb-note", "kb-cite",
    "kb-user", "kb-streaming", "kb-sources", "kb-source", "kb-source-n", "kb-source-head", "kb-source-title",
    "kb-source-meta", "kb-passage", "kb-group", "kb-group-q", "kb-empty", "kb-notice", "kb-notice-info",
    "kb-notice-warn", "kb-notice-ok", "kb-evidence", "kb-trace", "kb-kv", "kb-num", "kb-muted", "kb-mono",
    "kb-tag", "kb-tag-ok", "kb-tag-warn", "kb-tag-bad", "kb-status", "kb-card", "kb-grid", "kb-turn",
    "kb-turn-user", "kb-turn-bot", "kb-sr", "kb-header", "kb-logo", "kb-banner-inner", "kb-privacy", "kb-chat-empty",
    "kb-stats", "kb-stat", "kb-stat-n", "kb-list",
}
_ATTRIBUTES = {
    "*": {"dir", "title", "lang", "aria-hidden", "aria-label"},
    "a": {"href", "data-src"},
    "article": {"id"},
    "details": {"open"},
    "time": {"datetime"},
    "td": {"colspan"},
    "th": {"colspan", "scope"},
}


@lru_cache(maxsize=1)
def _cleaner_args() -> dict:
    return {
        "tags": _TAGS,
        "clean_content_tags": {"script", "style"},
        "attributes": _ATTRIBUTES,
        "allowed_classes": {tag: _CLASSES for tag in _TAGS},
        "tag_attribute_values": {"a": {"target": {"_blank"}}, "div": {"role": {"note", "status", "alert"}}},
        "url_schemes": {"http", "https", "mailto"},
        "link_rel": "noopener noreferrer nofollow",
        "strip_comments": True,
    }


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    # Built once: nh3.clean(**args) converts the allow-list on every call (~0.35 ms, a fifth
    # of the app's CPU under load in bench/concurrency.py); a prepared Cleaner takes ~10 µs.
    return nh3.Cleaner(**_cleaner_args())


def sanitize(fragment: str) -> str:
    """The HTML allow-list every fragment passes before it reaches the page."""
    return _cleaner().clean(fragment)


def _one_line(fragment: str) -> str:
    # A blank line would end the chat's raw-HTML block; no newline is needed in our markup.
    return re.sub(r"\s*\n\s*", " ", fragment).strip()


# -- text clean-up ----------------------------------------------------------------------------

_MAX_COMBINING = 3  # zalgo text: keep at most this many combining marks per character
_INVISIBLE = {i: None for i in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_INVISIBLE.update({i: "\ufffd" for i in range(0xD800, 0xE000)})  # lone surrogates cannot be sent as UTF-8


def safe_text(text) -> str:
    """User text made safe to keep, store and show: valid UTF-8, no NUL or control characters.

    Newlines and tabs stay; everything a person typed that is printable stays (emoji, RTL
    scripts, accents).
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    return unicodedata.normalize("NFC", text)


def tame_combining(text: str, limit: int = _MAX_COMBINING) -> str:
    """Drop excess stacked combining marks (zalgo) so text cannot spill over the page."""
    out: list[str] = []
    run = 0
    for ch in text:
        if unicodedata.combining(ch):
            run += 1
            if run > limit:
                continue
        else:
            run = 0
        out.append(ch)
    return "".join(out)


# Characters that a Markdown or LaTeX pass could interpret; written as entities so they show literally.
_MD_SPECIAL = {ord(c): f"&#{ord(c)};" for c in "\\`*_{}[]()#!|~$"}


def literal(fragment: str) -> str:
    """Protect the text between tags of sanitized HTML from any later Markdown pass."""
    parts = re.split(r"(<[^>]*>)", fragment)
    return "".join(p if p.startswith("<") else p.translate(_MD_SPECIAL) for p in parts)


def user_html(text: str) -> str:
    """A visitor's message as literal text: no Markdown, no HTML, line breaks kept."""
    text = tame_combining(safe_text(text)).strip()
    lines = [html.escape(line) for line in text.split("\n")]
    return literal(sanitize(f'<div class="kb-user" dir="auto">{"<br>".join(lines)}</div>'))


# -- Markdown from the corpus and templates -----------------------------------------------------


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Answers and notes are sentences: a leading "#" is text, never a page heading in a chat bubble.
    md.disable(["image", "html_inline", "html_block", "heading", "lheading"])

    def link_open(renderer, tokens, idx, options, env):
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        if href.startswith(("http://", "https://")):
            token.attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def markdown_html(text: str) -> str:
    """Render trusted-format Markdown (answers, templates) to sanitized HTML, raw HTML escaped."""
    return sanitize(_markdown().render(safe_text(text)))


def inline_markdown_html(text: str) -> str:
    """Like markdown_html, without the wrapping paragraph (for one-line labels)."""
    out = markdown_html(text).strip()
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out


# -- answers ------------------------------------------------------------------------------------

_MARKER = re.compile(r"\[(\d{1,3})\]")


def source_anchor(turn: int, n: int) -> str:
    """The element id of source ``n`` of answer ``turn`` in the Sources panel."""
    return f"kb-src-{turn}-{n}"


def link_citations(fragment: str, turn: int, numbers: Iterable[int]) -> str:
    """Turn ``[n]`` markers of known sources into links to the Sources panel."""
    known = set(numbers)

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        anchor = source_anchor(turn, n)
        return f'<sup><a class="kb-cite" href="#{anchor}" data-src="{anchor}" title="Source {n}">[{n}]</a></sup>'

    # Only text between tags is touched, never attribute values.
    parts = re.split(r"(<[^>]*>)", fragment)
    return "".join(p if p.startswith("<") else _MARKER.sub(repl, p) for p in parts)


def answer_html(reply: Reply, turn: int, *, emergency_label: str = "Emergency") -> str:
    """A finished answer: text with linked citation markers, warnings, emergency or refusal style."""
    body = link_citations(markdown_html(reply.text), turn, (c.n for c in reply.citations))
    classes = ["kb-answer"]
    badge = ""
    if reply.emergency:
        classes.append("kb-emergency")
        badge = f'<div class="kb-badge"><span aria-hidden="true">⚠</span> {html.escape(emergency_label)}</div>'
    elif reply.refused:
        classes.append("kb-refusal")
    notes = ""
    warnings = [w for w in reply.warnings if w.strip()]
    if warnings:
        items = "".join(f'<p class="kb-note">{inline_markdown_html(w)}</p>' for w in warnings)
        notes = f'<aside class="kb-notes">{items}</aside>'
    return literal(_one_line(sanitize(f'<div class="{" ".join(classes)}" dir="auto">{badge}<div class="kb-body">{body}</div>{notes}</div>')))


def streaming_html(text: str, turn: int, numbers: Sequence[int] = ()) -> str:
    """The growing answer while it streams in (markers link once the sources are known)."""
    body = link_citations(markdown_html(text), turn, numbers)
    return literal(_one_line(sanitize(f'<div class="kb-answer kb-streaming" dir="auto"><div class="kb-body">{body}</div></div>')))


def notice_html(text: str, kind: str = "info") -> str:
    """A short status line under the input (info, warn or ok)."""
    if not text:
        return ""
    kind = kind if kind in ("info", "warn", "ok") else "info"
    role = "alert" if kind == "warn" else "status"
    return _one_line(sanitize(f'<div role="{role}" class="kb-notice kb-notice-{kind}">{inline_markdown_html(text)}</div>'))


# -- sources --------------------------------------------------------------------------------------

EVIDENCE_LABELS = {
    "regulatory": "Regulatory document",
    "systematic_review": "Systematic review",
    "clinical_study": "Clinical study",
    "observational": "Observational study",
    "case_report": "Case report",
    "survey": "Survey",
    "legal": "Legal text",
}


def evidence_label(evidence: str | None) -> str:
    """A readable name for an evidence type."""
    if not evidence:
        return "Source"
    return EVIDENCE_LABELS.get(evidence, evidence.replace("_", " ").capitalize())


def format_date(value) -> str:
    """Dates as 'Apr 16, 2016' (US readers)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.date):
        return f"{value:%b} {value.day}, {value.year}"
    return ""


def source_card(c: Citation, turn: int, *, open_passage: bool = True) -> str:
    """One source: number, linked title, organisation, date, evidence type and the supporting passage."""
    title = html.escape(safe_text(c.title))
    link = f'<a href="{html.escape(c.url, quote=True)}" target="_blank">{title}</a>' if c.url else title
    meta = [html.escape(safe_text(c.source_org))]
    if c.published:
        meta.append(f'<time datetime="{c.published.isoformat()}">{format_date(c.published)}</time>')
    else:
        # Say so rather than leave the reader guessing whether a date was dropped.
        meta.append('<span class="kb-undated">source page undated</span>')
    meta.append(f'<span class="kb-evidence">{html.escape(evidence_label(c.evidence))}</span>')
    passages = [p.strip() for p in safe_text(c.passage).split(" … ") if p.strip()]
    quote = "".join(f"<blockquote>{html.escape(p)}</blockquote>" for p in passages)
    return (
        f'<article class="kb-source" id="{source_anchor(turn, c.n)}">'
        f'<header class="kb-source-head"><span class="kb-source-n">{c.n}</span>'
        f'<div><div class="kb-source-title">{link}</div>'
        f'<div class="kb-source-meta">{" · ".join(meta)}</div></div></header>'
        f'<details class="kb-passage"{" open" if open_passage else ""}><summary>Supporting passage</summary>{quote}</details>'
        f"</article>"
    )


def sources_html(groups: Sequence[tuple[int, str, Sequence[Citation]]], *, title: str, empty: str) -> str:
    """The Sources panel: the newest answer's sources first, each group labelled with its question."""
    parts = [f"<h2>{html.escape(title)}</h2>"]
    shown = [(turn, q, cites) for turn, q, cites in groups if cites]
    if not shown:
        parts.append(f'<p class="kb-empty">{inline_markdown_html(empty)}</p>')
    for i, (turn, question, cites) in enumerate(reversed(shown)):
        q = html.escape(_clip(tame_combining(safe_text(question)), 120))
        # The newest answer's passages are open; older ones fold away (a click on [n] opens them).
        cards = "".join(source_card(c, turn, open_passage=i == 0) for c in cites)
        label = f'<p class="kb-group-q" dir="auto">{q}</p>'
        parts.append(f'<section class="kb-group">{label}{cards}</section>')
        if i == 0 and len(shown) > 1:
            parts.append("<hr>")
    return _one_line(sanitize(f'<div class="kb-sources">{"".join(parts)}</div>'))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- staff trace -----------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence], num_cols: Sequence[int] = ()) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            cls = ' class="kb-num"' if i in num_cols else ""
            cells.append(f"<td{cls}>{v}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="kb-muted">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value, digits: int = 3) -> str:
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return html.escape(str(value))


def _esc(value) -> str:
    return html.escape(safe_text("" if value is None else str(value)))


def trace_html(reply: Reply) -> str:
    """Everything staff need to see why the bot answered as it did."""
    trace = reply.trace or {}
    g = reply.guard
    tag = "kb-tag-bad" if reply.emergency else "kb-tag-warn" if reply.refused else "kb-tag-ok"
    guard_rows = [
        ("label", f'<span class="kb-tag {tag}">{_esc(g.label)}</span>'),
        ("action", _esc(g.action)),
        ("layer", _esc(g.layer)),
        ("score", _num(g.score)),
        ("reason", _esc(g.reason)),
        ("language", _esc(g.language)),
        ("answer source", _esc(reply.answer_source)),
    ]
    guard = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in guard_rows)
    scores = _table(
        ["score", "value"], ((_esc(k), _num(v)) for k, v in sorted(g.scores.items(), key=lambda kv: -float(kv[1] or 0))), (1,)
    )
    sections = [
        f'<section class="kb-card"><h3>Guard decision</h3><table class="kb-kv"><tbody>{guard}</tbody></table>'
        f"<h4>Scores</h4>{scores}</section>"
    ]
    query = trace.get("query") or {}
    if query:
        used = " (rewritten with earlier turns)" if query.get("used_context") else ""
        sections.append(f'<section class="kb-card"><h3>Search query{used}</h3><p class="kb-mono">{_esc(query.get("text"))}</p></section>')
    faq = trace.get("faq")
    if faq:
        sections.append(
            f'<section class="kb-card"><h3>Closest FAQ</h3><p>{_esc(faq.get("faq_id"))}: “{_esc(faq.get("question"))}” '
            f'— similarity {_num(faq.get("similarity"))}</p></section>'
        )
    retrieved = trace.get("retrieved") or []
    rows = [
        (
            f'<span class="kb-mono">{_esc(r.get("chunk_id"))}</span>',
            _esc(r.get("heading") or r.get("doc_id")),
            _num(r.get("score")),
            _num(r.get("dense")),
            _num(r.get("lexical")),
            _esc(_clip(str(r.get("text", "")), 220)),
        )
        for r in retrieved
    ]
    sections.append(
        f'<section class="kb-card"><h3>Retrieved chunks ({len(retrieved)})</h3>'
        f'{_table(["chunk", "section", "score", "dense", "lexical", "text"], rows, (2, 3, 4))}</section>'
    )
    sentences = trace.get("sentences") or []
    rows = [
        (_esc(s.get("sentence")), f'<span class="kb-mono">{_esc(s.get("chunk_id") or "—")}</span>',
         _esc(s.get("citation") if s.get("citation") is not None else "—"), _num(s.get("support")) if s.get("support") is not None else "—")
        for s in sentences
    ]
    sections.append(
        f'<section class="kb-card"><h3>Sentences and their chunks</h3>{_table(["sentence", "chunk", "[n]", "support"], rows, (3,))}</section>'
    )
    og = trace.get("output_guard") or {}
    removed = og.get("removed") or []
    og_rows = [(_esc(k), _esc(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)) for k, v in og.items()]
    sections.append(
        f'<section class="kb-card"><h3>Output guard{" — removed " + str(len(removed)) if removed else ""}</h3>'
        f'{_table(["check", "result"], og_rows)}</section>'
    )
    warnings = trace.get("warnings") or []
    texts = list(reply.warnings)
    w_rows = [
        (_esc(w.get("id")), _esc(w.get("why")), _esc(texts[i]) if i < len(texts) else "")
        for i, w in enumerate(warnings)
    ]
    sections.append(f'<section class="kb-card"><h3>Warnings and why</h3>{_table(["warning", "why", "text"], w_rows)}</section>')
    timings = trace.get("timings_ms") or {}
    t_rows = [(_esc(k), _num(v, 1)) for k, v in timings.items()]
    sections.append(f'<section class="kb-card"><h3>Timings (ms)</h3>{_table(["stage", "ms"], t_rows, (1,))}</section>')
    return _one_line(sanitize(f'<div class="kb-trace">{"".join(sections)}</div>'))


def conversation_html(turns: Sequence[dict]) -> str:
    """A stored conversation for staff review (each turn as literal text)."""
    parts = []
    for t in turns:
        role = "user" if t.get("role") == "user" else "bot"
        who = "Visitor" if role == "user" else "Bot"
        text = "<br>".join(html.escape(line) for line in tame_combining(safe_text(t.get("content", ""))).split("\n"))
        parts.append(f'<div class="kb-turn kb-turn-{role}" dir="auto"><b>{who}</b><p>{text}</p></div>')
    return _one_line(sanitize("".join(parts)))
