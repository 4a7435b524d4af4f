"""The web app's own wording, read from ``prompts/ui_*.md`` through the PromptLibrary."""

from __future__ import annotations

import html

from ..prompts import PromptLibrary
from . import render


class UiText:
    """Renders UI strings (strictly: a missing variable is an error, never a blank)."""

    def __init__(self, prompts: PromptLibrary, lang: str = "en"):
        self.prompts = prompts
        self.lang = lang

    def text(self, name: str, **variables) -> str:
        """A ``ui_*`` template as plain text (may contain light Markdown)."""
        return self.prompts.render(name, self.lang, **variables)

    def prompt(self, name: str, **variables) -> str:
        """One of the bot's shared templates (e.g. ``input_empty``)."""
        return self.prompts.render(name, self.lang, **variables)

    def examples(self) -> list[str]:
        """The example questions, one per line of ``ui_examples``."""
        return [line.strip() for line in self.text("ui_examples").splitlines() if line.strip()]

    def header_html(self) -> str:
        """Title and subtitle."""
        return render.sanitize(
            f'<header class="kb-header"><div class="kb-logo" aria-hidden="true">K</div><div>'
            f"<h1>{html.escape(self.text('ui_title'))}</h1>"
            f'<p class="kb-muted">{render.inline_markdown_html(self.text("ui_subtitle"))}</p></div></header>'
        )

    def banner_html(self) -> str:
        """The persistent 'not medical advice / emergency numbers' banner."""
        return render.sanitize(f'<div class="kb-banner-inner" role="note">{render.inline_markdown_html(self.text("ui_banner"))}</div>')

    def privacy_html(self, days: int) -> str:
        """The feedback privacy and retention note under the chat."""
        return render.sanitize(f'<p class="kb-muted kb-privacy">{render.inline_markdown_html(self.text("ui_privacy", days=days))}</p>')
