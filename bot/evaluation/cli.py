"""`kratom-bot eval` (being built; see issue 5)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the `eval` subcommand to the CLI."""
    p = sub.add_parser("eval", help="run the evaluation suite and write reports")
    p.set_defaults(func=_not_ready)


def _not_ready(args) -> int:
    from ..errors import BotError

    raise BotError("the evaluation suite is not built yet")
