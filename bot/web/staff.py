"""The staff console: ask with trace, replay, feedback review and corpus status.

It is mounted under ``/staff`` only when ``KRATOMBOT_STAFF_TOKEN`` is set, behind
``security.StaffGate``; every handler checks the credentials of its own request again.
"""


import datetime as dt
import html
import json
import logging
import tempfile
from pathlib import Path

from .. import __version__
from ..errors import BotError
from ..feedback import FeedbackError, FeedbackFilter, FeedbackRecorder, StoredFeedback, iter_jsonl
from ..schema import Reply
from ..settings import Settings
from . import render
from .security import StaffAuth
from .text import UiText

log = logging.getLogger(__name__)

MAX_REPLAY_CONVERSATIONS = 500
PERIODS = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30, "All": None}
RATINGS = {"All (thumbs down first)": None, "Thumbs down": "down", "Thumbs up": "up"}
ALL_LABELS = "All labels"


class StaffAccessError(BotError):
    """A staff action was attempted without valid staff credentials."""


class StaffConsole:
    """The staff actions, independent of the Gradio layout (so they are testable)."""

    def __init__(self, chatbot, settings: Settings, recorder: FeedbackRecorder, auth: StaffAuth, ui: UiText):
        self.chatbot = chatbot
        self.settings = settings
        self.recorder = recorder
        self.auth = auth
        self.ui = ui
        self._out_dir: Path | None = None

    def require(self, headers) -> None:
        """Refuse unless the request carries the staff cookie or bearer token."""
        lowered = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
        if not self.auth.check_headers(lowered):
            raise StaffAccessError("staff token required")

    @property
    def store(self):
        """The feedback store (None when it could not be opened)."""
        return self.recorder.store

    def out_dir(self) -> Path:
        """A private temporary folder for downloads (Gradio serves files from the temp dir)."""
        if self._out_dir is None or not self._out_dir.exists():
            self._out_dir = Path(tempfile.mkdtemp(prefix="kratombot-staff-"))
        return self._out_dir

    # -- ask with trace --------------------------------------------------------------------

    def ask(self, question: str, earlier: str = "") -> tuple[Reply | None, str]:
        """Answer a question (after optional earlier turns); return the Reply or an error message."""
        messages = parse_earlier_turns(earlier)
        question = render.safe_text(question).strip()
        if not question:
            return None, "Type a question first."
        messages.append({"role": "user", "content": question})
        try:
            return self.chatbot.reply(messages), ""
        except BotError as exc:
            return None, str(exc)

    # -- replay ----------------------------------------------------------------------------

    def replay(self, path: str | None) -> tuple[str, str | None, list[list]]:
        """Replay an uploaded JSONL file; return (summary html, path of the replies file, preview rows)."""
        from ..replay import read_conversations, replay_lines

        if not path:
            return render.notice_html("Choose a replay file (.jsonl) first.", "info"), None, []
        source = Path(path)
        try:
            conversations = read_conversations(source)
        except BotError as exc:
            # The message names the line; show the uploaded file's original name, not the temp path.
            return render.notice_html(f"Cannot replay: {exc}", "warn"), None, []
        if len(conversations) > MAX_REPLAY_CONVERSATIONS:
            return (
                render.notice_html(
                    f"The file has {len(conversations)} conversations; the console replays at most "
                    f"{MAX_REPLAY_CONVERSATIONS}. Use `kratom-bot replay` for larger files.",
                    "warn",
                ),
                None,
                [],
            )
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = self.out_dir() / f"replies-{stamp}.jsonl"
        preview: list[list] = []
        errors = turns = 0
        with open(out, "w", encoding="utf-8") as fh:
            for line in replay_lines(self.chatbot, conversations):
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                if "error" in line:
                    errors += 1
                    preview.append([line["id"], "", "error", "", "", "", line["error"]])
                for i, r in enumerate(line.get("replies", []), 1):
                    turns += 1
                    g = r.get("guard", {})
                    preview.append([
                        line["id"], i, g.get("label", ""), g.get("action", ""), "yes" if r.get("refused") else "",
                        "yes" if r.get("emergency") else "", _clip(r.get("text", ""), 160),
                    ])
        kind = "warn" if errors else "ok"
        summary = f"Replayed {len(conversations)} conversation(s), {turns} turn(s)" + (
            f"; {errors} could not be played (see the error column)." if errors else "."
        )
        return render.notice_html(summary, kind), str(out), preview

    # -- feedback review -------------------------------------------------------------------

    def feedback_filter(self, rating: str, label: str, period: str, with_comment: bool, flagged: bool, text: str) -> FeedbackFilter:
        """The store filter for the console's controls."""
        days = PERIODS.get(period)
        return FeedbackFilter(
            rating=RATINGS.get(rating),
            guard_label=None if not label or label == ALL_LABELS else label,
            with_comment=bool(with_comment),
            flagged_only=bool(flagged),
            since=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days) if days else None,
            text=render.safe_text(text or "")[:200],
        )

    def feedback_rows(self, flt: FeedbackFilter) -> tuple[list[list], str]:
        """Table rows (thumbs down first) and a summary line."""
        if self.store is None:
            return [], render.notice_html(f"The feedback database is not available: {self.recorder.last_error}", "warn")
        try:
            rows = self.store.find(flt)
            total, down = self.store.count(), self.store.count("down")
        except FeedbackError as exc:
            return [], render.notice_html(str(exc), "warn")
        table = [
            [
                r.id,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                "down" if r.rating == "down" else "up",
                r.guard_label,
                _clip(r.question, 90),
                _clip(r.comment, 90),
                "⚑" if r.flagged else "",
            ]
            for r in rows
        ]
        health = "" if self.recorder.healthy else f" Writes are failing ({self.recorder.pending} rating(s) queued): {self.recorder.last_error}"
        summary = (
            f"Showing {len(rows)} of {total} stored rating(s), {down} thumbs down. Rows older than "
            f"{self.settings.feedback_retention_days} days are deleted automatically.{health}"
        )
        return table, render.notice_html(summary, "warn" if health else "info")

    def feedback_detail(self, feedback_id) -> tuple[StoredFeedback | None, str]:
        """One row as HTML: the conversation, the rated answer with its sources and trace summary."""
        row = self._row(feedback_id)
        if row is None:
            return None, render.notice_html("Select a row in the table to see the conversation.", "info")
        try:
            reply = Reply.model_validate(row.reply)
        except Exception:
            reply = Reply(text=str(row.reply.get("text", "")))
        turn_no = sum(1 for t in row.turns if t.get("role") == "user")
        meta = (
            f"<p class='kb-muted'>Feedback #{row.id} · {html.escape(row.created_at.isoformat(timespec='seconds'))} · "
            f"{'thumbs down' if row.rating == 'down' else 'thumbs up'} · guard {html.escape(row.guard_label)}/"
            f"{html.escape(row.guard_action)} · app {html.escape(row.app_version)} · corpus {html.escape(row.corpus_version)} · "
            f"conversation {html.escape(row.conversation_id[:12])}</p>"
        )
        comment = (
            f"<blockquote><b>Visitor comment:</b> {html.escape(render.safe_text(row.comment))}</blockquote>" if row.comment else ""
        )
        note = f"<p><b>Staff note:</b> {html.escape(row.staff_note)}</p>" if row.staff_note else ""
        body = (
            f"<div class='kb-card'>{meta}{comment}{note}<h3>Conversation</h3>{render.conversation_html(row.turns[:-1])}"
            f"<h3>Rated answer</h3>{render.answer_html(reply, turn_no)}</div>"
        )
        return row, render.sanitize(body)

    def set_review(self, feedback_id, flagged: bool, note: str) -> str:
        """Save the staff flag and note of a row."""
        if self.store is None or self._row(feedback_id) is None:
            return render.notice_html("Select a row first.", "info")
        try:
            self.store.set_review(int(feedback_id), flagged=flagged, staff_note=note or "")
        except FeedbackError as exc:
            return render.notice_html(str(exc), "warn")
        return render.notice_html(f"Saved the review of feedback #{int(feedback_id)}.", "ok")

    def export_case(self, feedback_id) -> tuple[str, str | None, str]:
        """The evaluation case stub for a row: (JSON text, file path, status html)."""
        row = self._row(feedback_id)
        if row is None:
            return "", None, render.notice_html("Select a row first.", "info")
        stub, how = export_case_stub(row)
        text = json.dumps(stub, indent=2, ensure_ascii=False)
        path = self.out_dir() / f"case-{row.conversation_id[:12]}-{row.message_index}.json"
        path.write_text(text + "\n", encoding="utf-8")
        return text, str(path), render.notice_html(how, "ok" if how.startswith("Exported") else "warn")

    def export_rows(self, flt: FeedbackFilter) -> str | None:
        """The filtered rows as a JSONL file for download."""
        if self.store is None:
            return None
        rows = self.store.find(FeedbackFilter(**{**flt.__dict__, "limit": 5000}))
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = self.out_dir() / f"feedback-{stamp}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(iter_jsonl(rows))
        return str(path)

    def labels(self) -> list[str]:
        """Guard labels for the filter."""
        try:
            return [ALL_LABELS, *(self.store.labels() if self.store else [])]
        except FeedbackError:
            return [ALL_LABELS]

    def _row(self, feedback_id) -> StoredFeedback | None:
        if self.store is None or feedback_id in (None, ""):
            return None
        try:
            return self.store.get(int(feedback_id))
        except (FeedbackError, TypeError, ValueError):
            return None

    # -- corpus status ---------------------------------------------------------------------

    def corpus_status(self) -> dict:
        """Documents, index freshness, last rebuild, and corpus-check findings."""
        from ..chunking import Chunker
        from ..corpus import load_corpus
        from ..indexing import IndexBuilder

        status: dict = {"corpus_dir": str(self.settings.corpus_dir), "corpus_version": self.chatbot.corpus_version}
        try:
            corpus = load_corpus(self.settings.corpus_dir)
            status["documents"] = len(corpus.documents)
            status["faq_entries"] = len(corpus.faq)
        except BotError as exc:
            status["corpus_error"] = str(exc)
            corpus = None
        layout = self.chatbot.index.layout
        status["store"] = layout.describe()
        if corpus is not None:
            builder = IndexBuilder(layout, self.chatbot.embedder, Chunker(self.settings.chunk_max_chars))
            index = builder.status(corpus)
            status["index_state"] = index.state
            status["index_reason"] = index.reason
            manifest = index.manifest or {}
        else:
            manifest = {}
        try:
            serving = self.chatbot.index.current()
            manifest = manifest or serving.manifest
            status["serving_version"] = serving.version
        except BotError as exc:
            status["serving_error"] = str(exc)
        status["index_version"] = manifest.get("version")
        status["last_rebuild"] = manifest.get("created")
        status["chunks"] = manifest.get("chunks")
        status["embedding_model"] = manifest.get("embedding_model")
        status["check"] = run_corpus_check(self.settings.corpus_dir)
        return status


def parse_earlier_turns(text: str) -> list[dict]:
    """Earlier turns typed by staff, one per line: ``user: …`` or ``bot: …`` (lines without a prefix are user turns)."""
    messages: list[dict] = []
    for line in render.safe_text(text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        role, _, rest = line.partition(":")
        key = role.strip().lower()
        if rest and key in ("user", "visitor", "q"):
            messages.append({"role": "user", "content": rest.strip()})
        elif rest and key in ("bot", "assistant", "a"):
            messages.append({"role": "assistant", "content": rest.strip()})
        else:
            messages.append({"role": "user", "content": line})
    # The bot expects alternating turns ending with the new question; merge repeats of the same role.
    merged: list[dict] = []
    for m in messages:
        if merged and merged[-1]["role"] == m["role"]:
            merged[-1] = {"role": m["role"], "content": f"{merged[-1]['content']} {m['content']}"}
        else:
            merged.append(m)
    if merged and merged[-1]["role"] == "user":
        merged.append({"role": "assistant", "content": ""})
    return merged


def export_case_stub(row: StoredFeedback) -> tuple[dict, str]:
    """Turn a stored conversation into an evaluation case stub via ``bot.evaluation.stubs.case_stub``."""
    turns = [str(t.get("content", "")) for t in row.turns if t.get("role") == "user"]
    replies: list[dict] = [
        {"text": str(t.get("content", ""))} for t in row.turns[:-1] if t.get("role") == "assistant"
    ]
    replies.append(row.reply)
    note = f"feedback #{row.id} ({row.rating})" + (f": {row.comment}" if row.comment else "")
    if row.staff_note:
        note += f" | staff: {row.staff_note}"
    try:
        from ..evaluation.stubs import case_stub
    except ImportError:
        # Until the evaluation stub exporter exists, export the replay format, which the suite reads.
        stub = {"id": f"feedback-{row.id}", "turns": turns, "note": note}
        return stub, "The evaluation stub exporter (bot.evaluation.stubs) is not installed; exported a replay-format case instead."
    stub = case_stub(row.conversation_id, turns, replies, note=note)
    return stub, f"Exported feedback #{row.id} as an evaluation case stub."


def run_corpus_check(corpus_dir) -> dict:
    """Run ``bot.corpus_check.check_corpus`` if this build has it; findings as plain dicts."""
    try:
        from ..corpus_check import check_corpus
    except ImportError:
        return {"available": False, "errors": [], "warnings": []}
    try:
        report = check_corpus(Path(corpus_dir))
    except Exception as exc:  # a checker bug must not take the console down
        log.error("corpus check failed: %s: %s", type(exc).__name__, exc)
        return {"available": True, "failed": f"{type(exc).__name__}: {exc}", "errors": [], "warnings": []}
    data = report.to_json_dict() if hasattr(report, "to_json_dict") else {"warnings": [str(w) for w in report or []]}
    return {"available": True, "errors": data.get("errors", []), "warnings": data.get("warnings", [])}


def status_html(status: dict) -> str:
    """The corpus status as HTML cards."""
    state = status.get("index_state", "unknown")
    tag = {"fresh": "kb-tag-ok", "stale": "kb-tag-warn"}.get(state, "kb-tag-bad")
    stats = [
        ("Documents", status.get("documents", "—")),
        ("FAQ entries", status.get("faq_entries", "—")),
        ("Chunks indexed", status.get("chunks") or "—"),
        ("Last rebuild (UTC)", (status.get("last_rebuild") or "—").replace("T", " ").replace("+00:00", "")),
    ]
    cards = "".join(
        f"<div class='kb-stat'><div class='kb-stat-n'>{html.escape(str(v))}</div><div class='kb-muted'>{html.escape(k)}</div></div>"
        for k, v in stats
    )
    rows = [
        ("Index", f"<span class='kb-tag {tag}'>{html.escape(state)}</span> {html.escape(str(status.get('index_reason', '')))}"),
        ("Serving version", html.escape(str(status.get("serving_version") or status.get("serving_error") or "—"))),
        ("Store", html.escape(str(status.get("store", "")))),
        ("Embedding model", html.escape(str(status.get("embedding_model") or "—"))),
        ("Corpus folder", f"<span class='kb-mono'>{html.escape(status.get('corpus_dir', ''))}</span>"),
        ("Corpus version", f"<span class='kb-mono'>{html.escape(str(status.get('corpus_version', '')))}</span>"),
        ("App version", html.escape(__version__)),
    ]
    if status.get("corpus_error"):
        rows.insert(0, ("Corpus error", html.escape(status["corpus_error"])))
    kv = "".join(f"<tr><th scope='row'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    check = status.get("check") or {}
    if not check.get("available"):
        findings = "<p class='kb-muted'>The corpus checker (bot.corpus_check.check_corpus) is not part of this build, so no corpus-check warnings are shown.</p>"
    elif check.get("failed"):
        findings = f"<p>The corpus check could not run: {html.escape(check['failed'])}</p>"
    else:
        items = [("error", f) for f in check.get("errors", [])] + [("warning", f) for f in check.get("warnings", [])]
        if not items:
            findings = "<p><span class='kb-tag kb-tag-ok'>clean</span> The corpus check found no errors or warnings.</p>"
        else:
            li = "".join(
                f"<li><span class='kb-tag {'kb-tag-bad' if sev == 'error' else 'kb-tag-warn'}'>{sev}</span> "
                f"<span class='kb-mono'>{html.escape(_finding_where(f))}</span> {html.escape(_finding_text(f))}</li>"
                for sev, f in items
            )
            findings = (
                f"<p>{len(check.get('errors', []))} error(s), {len(check.get('warnings', []))} warning(s).</p>"
                f"<ul class='kb-list'>{li}</ul>"
            )
    return render.sanitize(
        f"<div class='kb-trace'><div class='kb-stats'>{cards}</div>"
        f"<section class='kb-card'><h3>Index</h3><table class='kb-kv'><tbody>{kv}</tbody></table></section>"
        f"<section class='kb-card'><h3>Corpus check</h3>{findings}</section></div>"
    )


def _finding_where(f) -> str:
    if isinstance(f, dict):
        path, line = f.get("path", ""), f.get("line")
        return f"{Path(path).name}:{line}" if line else Path(path).name
    return ""


def _finding_text(f) -> str:
    if isinstance(f, dict):
        return f"{f.get('message', '')} [{f.get('code', '')}]"
    return str(f)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_staff_blocks(console: StaffConsole, ui: UiText):
    """The staff console as Gradio Blocks (mounted under /staff)."""
    import gradio as gr

    def guard(request: gr.Request | None) -> None:
        try:
            console.require(getattr(request, "headers", None))
        except StaffAccessError:
            raise gr.Error("Staff token required. Sign in again at /staff/login.") from None

    with gr.Blocks(title=f"{ui.text('ui_staff_title')} · {ui.text('ui_title')}", analytics_enabled=False, fill_width=True) as demo:
        gr.HTML(
            render.sanitize(
                f"<header class='kb-header'><div class='kb-logo'>K</div><div><h1>{html.escape(ui.text('ui_staff_title'))}</h1>"
                f"<p class='kb-muted'>App {html.escape(__version__)} · corpus {html.escape(console.chatbot.corpus_version)} · "
                f"<a href='/staff/logout'>Sign out</a></p></div></header>"
            ),
            elem_id="kb-header",
            padding=False,
        )
        with gr.Tabs(elem_id="kb-staff-tabs"):
            with gr.Tab("Ask with trace", id="ask"):
                question = gr.Textbox(
                    label="Question", placeholder="Ask as a visitor would, then press Enter", elem_id="kb-staff-q",
                    submit_btn="Ask", elem_classes=["kb-input"],
                )
                with gr.Accordion("Earlier turns (optional)", open=False):
                    earlier = gr.Textbox(
                        show_label=False, lines=3,
                        placeholder="One turn per line, e.g.\nuser: Is kratom legal?\nbot: …\n(the question above is the next user turn)",
                    )
                ask_note = gr.HTML("", padding=False)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        answer = gr.HTML("", elem_id="kb-staff-answer")
                    with gr.Column(scale=2):
                        answer_sources = gr.HTML("", elem_id="kb-staff-sources")
                trace = gr.HTML("", elem_id="kb-staff-trace")
                with gr.Accordion("Reply JSON", open=False):
                    raw = gr.JSON(value=None, show_label=False)

                def on_ask(q, e, request: gr.Request):
                    guard(request)
                    reply, error = console.ask(q, e)
                    if reply is None:
                        return render.notice_html(error, "warn"), "", "", "", None
                    log.info("staff ask label=%s action=%s ms=%.0f", reply.guard.label, reply.guard.action, reply.latency_ms)
                    return (
                        "",
                        render.sanitize(f'<div class="kb-card">{render.answer_html(reply, 1)}</div>'),
                        render.sources_html([(1, q, reply.citations)], title="Sources", empty="No sources for this reply."),
                        render.trace_html(reply),
                        reply.to_json_dict(),
                    )

                ask_outputs = [ask_note, answer, answer_sources, trace, raw]
                question.submit(on_ask, [question, earlier], ask_outputs, api_visibility="private")

            with gr.Tab("Replay", id="replay"):
                gr.Markdown(
                    "Upload a JSONL file with one conversation per line: `{\"id\": \"case-1\", \"turns\": [\"first question\", \"follow-up\"]}`. "
                    "Each conversation is played turn by turn; the download has one line per conversation with every Reply, trace included."
                )
                upload = gr.File(label="Replay file (.jsonl)", file_types=[".jsonl", ".json", ".txt"], type="filepath", elem_id="kb-replay-file")
                replay_btn = gr.Button("Replay", variant="primary", elem_id="kb-replay-run")
                replay_note = gr.HTML("", padding=False)
                replay_file = gr.File(label="Replies (JSONL)", interactive=False, elem_id="kb-replay-out")
                replay_table = gr.Dataframe(
                    headers=["id", "turn", "label", "action", "refused", "emergency", "answer"],
                    interactive=False, wrap=True, elem_id="kb-replay-table",
                )

                def on_replay(path, request: gr.Request):
                    guard(request)
                    note, out, rows = console.replay(path)
                    return note, out, rows

                replay_btn.click(on_replay, [upload], [replay_note, replay_file, replay_table], concurrency_limit=1, api_visibility="private")

            with gr.Tab("Feedback", id="feedback"):
                with gr.Row(equal_height=True):
                    f_rating = gr.Dropdown(list(RATINGS), value=list(RATINGS)[0], label="Rating", min_width=180)
                    f_label = gr.Dropdown([ALL_LABELS], value=ALL_LABELS, label="Guard label", min_width=160, allow_custom_value=True)
                    f_period = gr.Dropdown(list(PERIODS), value="Last 30 days", label="Period", min_width=140)
                    f_text = gr.Textbox(label="Search text", placeholder="in questions and comments", min_width=180)
                with gr.Row(equal_height=True):
                    f_comment = gr.Checkbox(label="With a comment only", value=False)
                    f_flagged = gr.Checkbox(label="Flagged only", value=False)
                    f_refresh = gr.Button("Refresh", variant="primary", size="sm", scale=0, min_width=120, elem_id="kb-fb-refresh")
                    f_download = gr.Button("Download as JSONL", size="sm", scale=0, min_width=160)
                f_summary = gr.HTML("", padding=False)
                f_table = gr.Dataframe(
                    headers=["id", "when (UTC)", "rating", "guard", "question", "comment", "flag"],
                    interactive=False, wrap=True, elem_id="kb-fb-table", max_height=420,
                    column_widths=["56px", "150px", "80px", "130px", "35%", "35%", "52px"],
                )
                f_download_file = gr.File(label="Filtered feedback", interactive=False, visible=False)
                selected = gr.Textbox(
                    label="Feedback #", placeholder="Select a row above, or type an id and press Enter",
                    elem_id="kb-fb-selected", max_lines=1,
                )
                f_detail = gr.HTML("", elem_id="kb-fb-detail")
                with gr.Row(equal_height=False, elem_id="kb-fb-review"):
                    r_flag = gr.Checkbox(label="Flag for follow-up", value=False)
                    r_note = gr.Textbox(label="Staff note", scale=4)
                    r_save = gr.Button("Save review", size="sm", scale=0, min_width=130)
                    export_btn = gr.Button("Export as evaluation case", variant="primary", size="sm", scale=0, min_width=220, elem_id="kb-fb-export")
                r_note_out = gr.HTML("", padding=False)
                export_code = gr.Code(language="json", label="Evaluation case stub", interactive=False, elem_id="kb-fb-case")
                export_file = gr.File(label="Case file", interactive=False, visible=False)

                filters = [f_rating, f_label, f_period, f_comment, f_flagged, f_text]

                def on_refresh(rating, label, period, with_comment, flagged, text, request: gr.Request):
                    guard(request)
                    rows, summary = console.feedback_rows(console.feedback_filter(rating, label, period, with_comment, flagged, text))
                    labels = console.labels()
                    return rows, summary, gr.update(choices=labels, value=label if label in labels else ALL_LABELS)

                f_refresh.click(on_refresh, filters, [f_table, f_summary, f_label], api_visibility="private")
                f_text.submit(on_refresh, filters, [f_table, f_summary, f_label], api_visibility="private")

                def on_download(rating, label, period, with_comment, flagged, text, request: gr.Request):
                    guard(request)
                    path = console.export_rows(console.feedback_filter(rating, label, period, with_comment, flagged, text))
                    return gr.update(value=path, visible=path is not None)

                f_download.click(on_download, filters, [f_download_file], api_visibility="private")

                def on_select(evt: gr.SelectData, request: gr.Request):
                    guard(request)
                    row = evt.row_value if isinstance(evt.row_value, list) else None
                    feedback_id = row[0] if row else None
                    return show(feedback_id)

                def show(feedback_id):
                    row, detail = console.feedback_detail(feedback_id)
                    if row is None:
                        return gr.skip(), detail, False, ""
                    return str(row.id), detail, row.flagged, row.staff_note

                f_table.select(on_select, None, [selected, f_detail, r_flag, r_note], api_visibility="private")

                def on_number(feedback_id, request: gr.Request):
                    guard(request)
                    return show(feedback_id)

                selected.submit(on_number, [selected], [selected, f_detail, r_flag, r_note], api_visibility="private")

                def on_save(feedback_id, flagged, note, request: gr.Request):
                    guard(request)
                    return console.set_review(feedback_id, flagged, note)

                r_save.click(on_save, [selected, r_flag, r_note], [r_note_out], api_visibility="private")

                def on_export(feedback_id, request: gr.Request):
                    guard(request)
                    text, path, note = console.export_case(feedback_id)
                    return text, gr.update(value=path, visible=path is not None), note

                export_btn.click(on_export, [selected], [export_code, export_file, r_note_out], api_visibility="private")

            with gr.Tab("Corpus status", id="corpus"):
                c_refresh = gr.Button("Refresh", size="sm", scale=0, min_width=120)
                c_status = gr.HTML("", elem_id="kb-corpus-status")

                def on_status(request: gr.Request):
                    guard(request)
                    return status_html(console.corpus_status())

                c_refresh.click(on_status, None, [c_status], api_visibility="private")

        def on_load(rating, label, period, with_comment, flagged, text, request: gr.Request):
            guard(request)
            rows, summary = console.feedback_rows(console.feedback_filter(rating, label, period, with_comment, flagged, text))
            return rows, summary, gr.update(choices=console.labels()), status_html(console.corpus_status())

        demo.load(on_load, filters, [f_table, f_summary, f_label, c_status], api_visibility="private")
    demo.queue(default_concurrency_limit=max(1, min(2, console.settings.concurrency_limit)))
    return demo
