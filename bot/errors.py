"""The project's error hierarchy.

Every error meant for a person carries a message that quotes the bad value and names
the file or line; the CLI and the UI show ``str(error)`` and never a stack trace.
"""

from __future__ import annotations

from pathlib import Path


class BotError(Exception):
    """Base class for errors that the CLI and UI translate into friendly text."""

    exit_code = 2


class ConfigError(BotError):
    """A setting has a value that cannot work."""


class CorpusError(BotError):
    """A corpus file is missing, unreadable or malformed."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {problem}")


class SearchIndexError(BotError):
    """The search index is missing, corrupt or was built for another version."""


class ModelLoadError(BotError):
    """The embedding model could not be loaded."""


class StoreUnavailable(BotError):
    """The vector store (e.g. a Chroma server) cannot be reached right now."""


class InputError(BotError):
    """A user message or conversation history is not acceptable."""


class DataFileError(BotError):
    """A JSONL or YAML input file (replay, eval, dataset) is malformed."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}, line {line}" if line else str(self.path)
        super().__init__(f"{where}: {problem}")


class TemplateError(BotError):
    """A prompt or message template is missing or was rendered without a variable."""
