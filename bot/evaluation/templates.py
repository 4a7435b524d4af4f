"""Recognise the bot's own template text (refusal, emergency, clinician notes…) inside a reply.

Template sentences come from ``prompts/`` and carry no ``[n]`` marker; the scorer must
not count them as answer sentences, and must recognise refusal wording in any language
the prompts folder has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..text import split_sentences

_VARIABLE = re.compile(r"\{\{.*?\}\}")
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_MARKDOWN = re.compile(r"\*\*|__|`")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_MARKER = re.compile(r"\s*\[\d{1,3}\]")
_WILDCARD = "\x00"

# Templates whose wording means "I will not answer this" (used to spot false refusals).
REFUSAL_TEMPLATES = ("refusal_dosing", "off_topic", "injection")
EMERGENCY_TEMPLATES = ("emergency", "emergency_suicide")


def normalize_sentence(text: str) -> str:
    """Lowercase, without Markdown emphasis, bullets, [n] markers or extra spaces."""
    text = _MARKER.sub("", text)
    text = _MARKDOWN.sub("", text)
    return " ".join(text.split()).strip().lower()


def reply_sentences(text: str) -> list[str]:
    """Sentences of a reply text, line by line (bullets stripped), as shown to the user."""
    out: list[str] = []
    for line in text.split("\n"):
        line = _BULLET.sub("", line)
        out.extend(split_sentences(line))
    return out


@dataclass(frozen=True)
class TemplateSentence:
    """One sentence of one template file, as a pattern."""

    template: str  # e.g. "refusal_dosing"
    language: str
    pattern: re.Pattern


class TemplateIndex:
    """Every sentence of every template in a prompts folder, matchable against reply sentences."""

    def __init__(self, prompts_dir: Path):
        self.prompts_dir = Path(prompts_dir)
        self.sentences: list[TemplateSentence] = []
        for path in sorted(self.prompts_dir.glob("*.md")):
            parts = path.name[: -len(".md")].rsplit(".", 1)
            name, lang = (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "en")
            raw = _TAG.sub("", path.read_text(encoding="utf-8"))
            raw = _VARIABLE.sub(_WILDCARD, raw)
            for sentence in reply_sentences(raw):
                norm = normalize_sentence(sentence)
                # A sentence that is mostly a variable would match any answer sentence.
                if len(re.sub(r"[^a-z]", "", norm.replace(_WILDCARD, ""))) < 12:
                    continue
                regex = ".+?".join(re.escape(piece) for piece in norm.split(_WILDCARD))
                self.sentences.append(TemplateSentence(name, lang, re.compile(rf"^{regex}$")))

    def template_of(self, sentence: str) -> str | None:
        """The template a reply sentence comes from, or None when it is not template text."""
        norm = normalize_sentence(sentence)
        if not norm:
            return None
        for s in self.sentences:
            if s.pattern.match(norm):
                return s.template
        return None

    def templates_in(self, text: str) -> set[str]:
        """Names of the templates whose sentences appear in a reply text."""
        found = set()
        for sentence in reply_sentences(text):
            name = self.template_of(sentence)
            if name:
                found.add(name)
        return found
