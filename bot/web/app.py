"""The web app (minimal chat; the full visitor UI and staff console build on this)."""

from __future__ import annotations

import logging

from .. import _offline  # noqa: F401  (before gradio is imported)
from ..settings import Settings

log = logging.getLogger(__name__)


def create_app(chatbot, settings: Settings):
    """Build the Gradio Blocks app around a ready chatbot."""
    import gradio as gr

    def respond(message: str, history: list[dict]):
        messages = [{"role": m["role"], "content": _text(m["content"])} for m in history if m.get("role") in ("user", "assistant")]
        messages.append({"role": "user", "content": message})
        final = None
        for event in chatbot.stream(messages):
            if isinstance(event, str):
                yield event
            else:
                final = event
        if final is not None:
            sources = "\n".join(f"[{c.n}] [{c.title}]({c.url}) — {c.source_org}" for c in final.citations)
            notes = "\n".join(f"> {w}" for w in final.warnings)
            yield "\n\n".join(p for p in (final.text, sources, notes) if p)

    with gr.Blocks(title="Kratom health information") as demo:
        gr.Markdown("**Information, not medical advice.** In an emergency call 911 / Poison Help 1-800-222-1222.")
        gr.ChatInterface(respond)
    return demo


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content)


def serve(settings: Settings | None = None) -> None:
    """Build the chatbot (indexing if needed) and serve the app until interrupted."""
    from ..wiring import load_chatbot

    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chatbot = load_chatbot(settings)
    app = create_app(chatbot, settings)
    app.queue(default_concurrency_limit=settings.concurrency_limit)
    app.launch(server_name=settings.host, server_port=settings.port, show_error=False)
