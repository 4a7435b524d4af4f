"""Prompts and user-facing templates, loaded from ``prompts/`` and rendered strictly.

A template is ``prompts/<name>.<lang>.md`` (falling back to English). Rendering uses
Jinja2 with StrictUndefined, so a missing variable is an error naming the template,
never a silently blank hole in a health message.
"""

from __future__ import annotations

import threading
from pathlib import Path

import jinja2
import jinja2.meta

from .errors import TemplateError

LANGUAGES = ("en", "es", "pt", "fr", "de")


class PromptLibrary:
    """Loads and renders templates from one folder."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise TemplateError(f"prompts folder {str(self.directory)!r} does not exist (set KRATOMBOT_PROMPTS_DIR)")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self._cache: dict[str, jinja2.Template] = {}
        self._lock = threading.Lock()

    def path_for(self, name: str, lang: str = "en") -> Path:
        """The file that serves a template in a language (English when no translation exists)."""
        for candidate in (f"{name}.{lang}.md", f"{name}.en.md", f"{name}.md"):
            if (self.directory / candidate).exists():
                return self.directory / candidate
        raise TemplateError(f"template {name!r} not found in {self.directory} (expected {name}.en.md)")

    def has(self, name: str, lang: str) -> bool:
        """Whether a translation of the template exists for this language."""
        return (self.directory / f"{name}.{lang}.md").exists()

    def variables(self, name: str, lang: str = "en") -> set[str]:
        """The variables a template uses."""
        path = self.path_for(name, lang)
        return jinja2.meta.find_undeclared_variables(self._env.parse(path.read_text(encoding="utf-8")))

    def render(self, name: str, lang: str = "en", **variables) -> str:
        """Render a template, raising TemplateError when a variable is missing."""
        path = self.path_for(name, lang)
        with self._lock:
            template = self._cache.get(path.name)
            if template is None:
                try:
                    template = self._env.get_template(path.name)
                except jinja2.TemplateSyntaxError as exc:
                    raise TemplateError(f"{path}:{exc.lineno}: template syntax error: {exc.message}") from None
                self._cache[path.name] = template
        try:
            return template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{path}: missing template variable ({exc.message})") from None
