"""Replay: play JSONL conversations through the bot turn by turn.

Input, one JSON object per line: ``{"id": str, "turns": [str, ...]}`` (other keys are
ignored). Output, one line per conversation: ``{"id": ..., "replies": [Reply, ...]}``.
The bot's own earlier replies are fed back as history, exactly as in a live chat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import BotError, DataFileError
from .schema import Message, Reply


@dataclass(frozen=True)
class Conversation:
    """One conversation to replay; ``extra`` keeps the other keys of its line."""

    id: str
    turns: tuple[str, ...]
    line: int
    extra: dict = field(default_factory=dict)


def parse_jsonl(path: Path, text: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; DataFileError names the bad line."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataFileError(path, "file not found") from None
        except UnicodeDecodeError as exc:
            raise DataFileError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", number) from None
        if not isinstance(obj, dict):
            raise DataFileError(path, f"each line must be a JSON object, got {type(obj).__name__}", number)
        yield number, obj


def read_conversations(path: Path, text: str | None = None) -> list[Conversation]:
    """Read and validate a replay file; errors name the line number."""
    out: list[Conversation] = []
    seen: dict[str, int] = {}
    for number, obj in parse_jsonl(path, text):
        cid = obj.get("id")
        turns = obj.get("turns")
        if not isinstance(cid, str) or not cid.strip():
            raise DataFileError(path, f"'id' must be a non-empty string, got {cid!r}", number)
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
            raise DataFileError(path, f"'turns' must be a non-empty list of strings (conversation {cid!r})", number)
        if cid in seen:
            raise DataFileError(path, f"duplicate id {cid!r} (first used on line {seen[cid]})", number)
        seen[cid] = number
        out.append(Conversation(cid, tuple(turns), number, {k: v for k, v in obj.items() if k not in ("id", "turns")}))
    if not out:
        raise DataFileError(path, "no conversations found (the file is empty)")
    return out


def play(chatbot, conversation: Conversation) -> list[Reply]:
    """Replay one conversation, feeding the bot's replies back as history."""
    history: list[Message] = []
    replies: list[Reply] = []
    for turn in conversation.turns:
        history.append(Message(role="user", content=turn))
        reply = chatbot.reply(history)
        replies.append(reply)
        history.append(Message(role="assistant", content=reply.text))
    return replies


def replay_lines(chatbot, conversations: Iterable[Conversation]) -> Iterator[dict]:
    """One output object per conversation; a per-turn failure becomes an error entry, not a crash."""
    for conv in conversations:
        try:
            replies = play(chatbot, conv)
            yield {"id": conv.id, "replies": [r.to_json_dict() for r in replies]}
        except BotError as exc:
            yield {"id": conv.id, "replies": [], "error": str(exc)}
