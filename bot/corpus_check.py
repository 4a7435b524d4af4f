"""`kratom-bot corpus check|sources` (being built; see issue 3)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the `corpus` subcommand to the CLI."""
    p = sub.add_parser("corpus", help="check the corpus or regenerate corpus/SOURCES.md")
    p.set_defaults(func=_not_ready)


def _not_ready(args) -> int:
    from .errors import BotError

    raise BotError("the corpus checker is not built yet")
