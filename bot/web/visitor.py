"""The visitor page: streaming chat, Sources panel, banner, and thumbs up/down with a comment.

All per-visitor data lives in one ``ChatSession`` held in ``gr.State``, which Gradio keeps
per browser session on the server; nothing about a conversation is shared between
sessions or kept in module globals.
"""


import html
import logging
import traceback
import time
import uuid
from dataclasses import dataclass, field

from .. import __version__
from ..chatbot import clean_text
from ..feedback import FeedbackRecord, FeedbackRecorder
from ..schema import Citation, Reply
from ..settings import Settings
from . import render
from .security import RateLimiter
from .text import UiText

log = logging.getLogger(__name__)


@dataclass
class ChatSession:
    """One browser session's conversation (kept server-side by gr.State)."""

    conversation_id: str = ""
    history: list[dict] = field(default_factory=list)  # raw turns for the bot: role/content
    display: list[dict] = field(default_factory=list)  # the chat component's messages (safe HTML), same indices
    replies: dict[int, Reply] = field(default_factory=dict)  # message index -> the Reply shown there
    sources: list[tuple[int, str, tuple[Citation, ...]]] = field(default_factory=list)  # (turn, question, citations)
    ratings: dict[int, str] = field(default_factory=dict)  # message index -> "up" | "down"
    comment_for: int | None = None  # the rated answer the comment box belongs to

    def ensure_id(self) -> str:
        """A random conversation id (never derived from the visitor or the browser)."""
        if not self.conversation_id:
            self.conversation_id = uuid.uuid4().hex
        return self.conversation_id

    @property
    def turn(self) -> int:
        """How many questions have been answered so far."""
        return len(self.replies)

    def feedback_values(self) -> list[str | None]:
        """The thumbs shown on each assistant message, in order (for the chat component)."""
        labels = {"up": "Like", "down": "Dislike"}
        return [labels.get(self.ratings.get(i, ""), None) for i, m in enumerate(self.display) if m["role"] == "assistant"]


class VisitorChat:
    """Event handlers of the visitor page, independent of the Gradio layout (so they are testable)."""

    def __init__(self, chatbot, settings: Settings, recorder: FeedbackRecorder, ui: UiText):
        self.chatbot = chatbot
        self.settings = settings
        self.recorder = recorder
        self.ui = ui
        self.limiter = RateLimiter(settings.rate_limit_per_minute)

    # -- chat --------------------------------------------------------------------------

    def respond(self, text, session: ChatSession | None, session_key: str = ""):
        """Answer one message; yields (session, input text or None to keep, notice html) as the answer streams.

        The input text is only cleared once the message is accepted: an empty, too long or
        rate-limited message stays in the box with a friendly note, so nothing is lost.
        """
        session = session if isinstance(session, ChatSession) else ChatSession()
        raw = render.safe_text(text)
        if not raw.strip():
            yield session, None, render.notice_html(self.ui.prompt("input_empty"), "info")
            return
        limit = self.chatbot.max_input_chars
        length = len(clean_text(raw))
        if length > limit:
            message = f'{self.ui.prompt("input_too_long", length=f"{length:,}", limit=f"{limit:,}")} {self.ui.text("ui_kept")}'
            yield session, None, render.notice_html(message, "warn")
            return
        wait = self.limiter.check(session_key or session.ensure_id())
        if wait:
            yield session, None, render.notice_html(self.ui.text("ui_rate_limited", seconds=max(1, round(wait))), "warn")
            return

        conversation = session.ensure_id()
        turn = session.turn + 1
        session.history.append({"role": "user", "content": raw})
        session.display.append({"role": "user", "content": render.user_html(raw)})
        yield session, "", ""
        final: Reply | None = None
        try:
            session.display.append({"role": "assistant", "content": render.streaming_html("…", turn)})
            for event in self.chatbot.stream(list(session.history)):
                if isinstance(event, Reply):
                    final = event
                else:
                    session.display[-1] = {"role": "assistant", "content": render.streaming_html(event, turn)}
                    yield session, "", ""
            if final is None:
                raise RuntimeError("the chatbot stream ended without a reply")
        except Exception as exc:  # the visitor sees a friendly note; staff find the details in the log
            self._log_failure(conversation, turn, exc)
            del session.display[len(session.history) - 1 :]
            session.history.pop()
            yield session, raw, render.notice_html(f'{self.ui.text("ui_error")}', "warn")
            return
        index = len(session.display) - 1
        session.display[index] = {
            "role": "assistant",
            "content": render.answer_html(final, turn, emergency_label=self.ui.text("ui_emergency_label")),
        }
        session.history.append({"role": "assistant", "content": final.text})
        session.replies[index] = final
        session.sources.append((turn, raw, final.citations))
        self._log_turn(conversation, turn, raw, final)
        yield session, "", ""

    def sources_panel(self, session: ChatSession | None) -> str:
        """The Sources panel for a session."""
        groups = session.sources if isinstance(session, ChatSession) else []
        return render.sources_html(groups, title=self.ui.text("ui_sources_title"), empty=self.ui.text("ui_sources_empty"))

    # -- feedback ----------------------------------------------------------------------

    def rate(self, session: ChatSession | None, index, liked) -> tuple[ChatSession, str | None]:
        """A thumb on the answer at ``index``: save it at once; return the comment prompt (None: hide the box)."""
        session = session if isinstance(session, ChatSession) else ChatSession()
        if isinstance(index, (list, tuple)):
            index = index[0]
        try:
            index = int(index)
        except (TypeError, ValueError):
            return session, None
        if index not in session.replies:
            return session, None
        rating = "up" if liked is True or liked == "Like" else "down" if liked is False or liked == "Dislike" else None
        if rating is None:  # the visitor took the thumb back
            session.ratings.pop(index, None)
            session.comment_for = None
            self.recorder.retract(session.ensure_id(), index)
            return session, None
        session.ratings[index] = rating
        session.comment_for = index
        self.recorder.submit(self._record(session, index, rating, ""))
        log.info("feedback conv=%s index=%d rating=%s", session.conversation_id[:8], index, rating)
        return session, self.ui.text("ui_feedback_up" if rating == "up" else "ui_feedback_down")

    def comment(self, session: ChatSession | None, comment) -> tuple[ChatSession, str]:
        """Attach the optional comment to the last rated answer; return the thank-you note."""
        session = session if isinstance(session, ChatSession) else ChatSession()
        index = session.comment_for
        text = render.safe_text(comment).strip()[:4000]
        if index is not None and index in session.ratings and text:
            self.recorder.submit(self._record(session, index, session.ratings[index], text))
            log.info("feedback comment conv=%s index=%d chars=%d", session.conversation_id[:8], index, len(text))
            if self.settings.debug_transcripts:
                log.info("transcript feedback conv=%s comment=%r", session.conversation_id[:8], text)
        session.comment_for = None
        return session, render.notice_html(self.ui.text("ui_feedback_thanks"), "ok")

    def _record(self, session: ChatSession, index: int, rating: str, comment: str) -> FeedbackRecord:
        return FeedbackRecord(
            conversation_id=session.ensure_id(),
            message_index=index,
            rating=rating,
            comment=comment,
            turns=tuple(dict(m) for m in session.history[: index + 1]),
            reply=session.replies[index].to_json_dict(),
            app_version=__version__,
            corpus_version=getattr(self.chatbot, "corpus_version", "") or "",
        )

    # -- logging (no message text unless transcripts are switched on) --------------------

    def _log_turn(self, conversation: str, turn: int, question: str, reply: Reply) -> None:
        g = reply.guard
        log.info(
            "answered conv=%s turn=%d chars=%d label=%s action=%s source=%s citations=%d refused=%s emergency=%s ms=%.0f",
            conversation[:8], turn, len(question), g.label, g.action, reply.answer_source, len(reply.citations),
            reply.refused, reply.emergency, reply.latency_ms,
        )
        if self.settings.debug_transcripts:
            log.info("transcript conv=%s turn=%d user=%r bot=%r", conversation[:8], turn, question, reply.text)

    def _log_failure(self, conversation: str, turn: int, exc: Exception) -> None:
        if self.settings.debug_transcripts:
            log.exception("answer failed conv=%s turn=%d", conversation[:8], turn)
            return
        # The exception text may quote the message; log only its type and where it was raised.
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.error("answer failed conv=%s turn=%d: %s at %s", conversation[:8], turn, type(exc).__name__, where)


def build_visitor_blocks(chat: VisitorChat, ui: UiText):
    """The visitor page as Gradio Blocks."""
    import gradio as gr

    settings = chat.settings
    examples = [{"text": q} for q in ui.examples()]
    with gr.Blocks(title=ui.text("ui_title"), analytics_enabled=False, fill_width=True) as demo:
        gr.HTML(ui.header_html(), elem_id="kb-header", padding=False)
        gr.HTML(ui.banner_html(), elem_id="kb-banner", padding=False)
        session = gr.State(None, time_to_live=12 * 3600)  # idle conversations are dropped after 12 hours
        with gr.Row(elem_id="kb-main", equal_height=False):
            with gr.Column(scale=3, min_width=380, elem_id="kb-chat-col"):
                chat_box = gr.Chatbot(
                    value=[],
                    elem_id="kb-chat",
                    show_label=False,
                    height="calc(100vh - 290px)",
                    min_height=380,
                    layout="bubble",
                    placeholder=render.sanitize(f"<div class='kb-chat-empty'>{html.escape(ui.text('ui_chat_placeholder'))}</div>"),
                    examples=examples,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    render_markdown=True,
                    line_breaks=False,
                    feedback_options=("Like", "Dislike"),
                    buttons=[],  # "copy" would copy our HTML markup, not the answer text
                    group_consecutive_messages=False,
                    autoscroll=True,
                )
                with gr.Column(visible=False, elem_id="kb-feedback") as feedback_box:
                    feedback_prompt = gr.HTML("", elem_id="kb-feedback-prompt", padding=False)
                    with gr.Row(equal_height=False, elem_id="kb-feedback-row"):
                        feedback_text = gr.Textbox(
                            show_label=False, placeholder="Your comment", lines=1, max_lines=4, scale=5,
                            elem_id="kb-feedback-text", max_length=4000,
                        )
                        feedback_send = gr.Button("Send", variant="primary", size="md", scale=0, min_width=90, elem_id="kb-feedback-send")
                        feedback_skip = gr.Button("Skip", variant="secondary", size="md", scale=0, min_width=90, elem_id="kb-feedback-skip")
                textbox = gr.Textbox(
                    show_label=False,
                    placeholder=ui.text("ui_placeholder"),
                    lines=1,
                    max_lines=8,
                    autofocus=True,
                    submit_btn="Send",
                    elem_id="kb-input",
                    elem_classes=["kb-input"],
                )
                notice = gr.HTML("", elem_id="kb-notice", padding=False)
                with gr.Row(elem_id="kb-tools"):
                    new_chat = gr.Button("New conversation", variant="secondary", size="sm", elem_id="kb-new", scale=0, min_width=160)
                    gr.HTML(ui.privacy_html(settings.feedback_retention_days), elem_id="kb-privacy", padding=False)
            with gr.Column(scale=2, min_width=320, elem_id="kb-sources-col"):
                sources = gr.HTML(chat.sources_panel(None), elem_id="kb-sources", padding=False)

        def _chat_update(s: ChatSession):
            return gr.update(value=s.display, feedback_value=s.feedback_values())

        def respond(text, s, request: gr.Request):
            key = getattr(request, "session_hash", None) or ""
            answered = s.turn if isinstance(s, ChatSession) else 0
            shown_sources, hidden = None, False
            last_sent = 0.0
            for s, box, note in chat.respond(text, s, key):
                # While the answer streams, send plain values: a gr.update(...) makes Gradio rebuild
                # the component and its config (JSON schema) on every chunk.
                done = s.turn != answered or box != ""
                now = time.monotonic()
                if not done and shown_sources is not None and now - last_sent < 0.1:
                    continue  # each update re-sends the whole conversation; one per 100 ms is enough to read
                last_sent = now
                yield (
                    _chat_update(s) if done else s.display,
                    s,
                    chat.sources_panel(s) if len(s.sources) != shown_sources else gr.skip(),
                    gr.skip() if box is None else box,
                    note,
                    gr.update(visible=False) if box == "" and not hidden else gr.skip(),
                )
                shown_sources, hidden = len(s.sources), hidden or box == ""

        outputs = [chat_box, session, sources, textbox, notice, feedback_box]
        textbox.submit(respond, [textbox, session], outputs, api_name="chat", concurrency_id="chat")

        def pick_example(evt: gr.SelectData):
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value or "")

        chat_box.example_select(pick_example, None, textbox, api_visibility="private").then(
            respond, [textbox, session], outputs, api_visibility="private", concurrency_id="chat"
        )

        def on_like(s, data: gr.LikeData):
            s, prompt = chat.rate(s, data.index, data.liked)
            if prompt is None:
                return s, gr.update(visible=False), gr.skip(), gr.skip(), gr.skip()
            return s, gr.update(visible=True), render.notice_html(prompt, "info"), gr.update(value=""), ""

        chat_box.like(on_like, [session], [session, feedback_box, feedback_prompt, feedback_text, notice], api_visibility="private")

        def on_comment(s, text):
            s, note = chat.comment(s, text)
            return s, gr.update(visible=False), gr.update(value=""), note

        feedback_send.click(on_comment, [session, feedback_text], [session, feedback_box, feedback_text, notice], api_visibility="private")
        feedback_text.submit(on_comment, [session, feedback_text], [session, feedback_box, feedback_text, notice], api_visibility="private")
        feedback_skip.click(
            lambda s: on_comment(s, ""), [session], [session, feedback_box, feedback_text, notice], api_visibility="private"
        )

        def on_new():
            s = ChatSession()
            return _chat_update(s), s, chat.sources_panel(s), gr.update(visible=False), ""

        new_chat.click(on_new, None, [chat_box, session, sources, feedback_box, notice], api_visibility="private")
        # The chat's own "clear" button starts over too, so the history sent to the bot matches the screen.
        chat_box.clear(on_new, None, [chat_box, session, sources, feedback_box, notice], api_visibility="private")
    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.queue_max_size)
    return demo
