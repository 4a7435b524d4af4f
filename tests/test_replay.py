"""Replay: the documented JSONL format, errors that name the line, history fed back."""

import json

import pytest

from bot.errors import DataFileError
from bot.replay import play, read_conversations, replay_lines


def test_reads_conversations_and_ignores_other_keys(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "turns": ["hi"], "category": "fact"}\n\n{"id": "b", "turns": ["x", "y"], "expect": {}}\n'
    )
    convs = read_conversations(path)
    assert [c.id for c in convs] == ["a", "b"]
    assert convs[1].turns == ("x", "y") and convs[1].line == 3
    assert convs[0].extra == {"category": "fact"}


@pytest.mark.parametrize(
    "content, line, problem",
    [
        ('{"id": "a", "turns": ["hi"]}\n{broken\n', 2, "not valid JSON"),
        ('{"id": "a", "turns": ["hi"]}\n[1, 2]\n', 2, "must be a JSON object"),
        ('{"turns": ["hi"]}\n', 1, "'id' must be a non-empty string"),
        ('{"id": "a", "turns": []}\n', 1, "'turns' must be a non-empty list"),
        ('{"id": "a", "turns": [1]}\n', 1, "'turns' must be a non-empty list"),
        ('{"id": "a", "turns": ["x"]}\n{"id": "a", "turns": ["y"]}\n', 2, "duplicate id 'a'"),
    ],
)
def test_malformed_lines_are_named(tmp_path, content, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataFileError) as err:
        read_conversations(path)
    assert err.value.line == line and problem in str(err.value)
    assert f"line {line}" in str(err.value)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataFileError, match="no conversations"):
        read_conversations(tmp_path / "empty.jsonl")
    with pytest.raises(DataFileError, match="file not found"):
        read_conversations(tmp_path / "nope.jsonl")


class EchoBot:
    """Records the histories it is given."""

    def __init__(self):
        self.seen = []

    def reply(self, history):
        from bot.schema import Reply

        self.seen.append([(m.role, m.content) for m in history])
        return Reply(text=f"reply {len(self.seen)}")


def test_play_feeds_bot_replies_back_as_history(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "turns": ["one", "two", "three"]}\n')
    bot = EchoBot()
    replies = play(bot, read_conversations(path)[0])
    assert [r.text for r in replies] == ["reply 1", "reply 2", "reply 3"]
    assert bot.seen[2] == [
        ("user", "one"), ("assistant", "reply 1"), ("user", "two"), ("assistant", "reply 2"), ("user", "three"),
    ]


def test_replay_lines_shape(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "turns": ["one", "two"]}\n')
    (line,) = list(replay_lines(EchoBot(), read_conversations(path)))
    assert line["id"] == "a" and len(line["replies"]) == 2
    assert json.loads(json.dumps(line))["replies"][1]["text"] == "reply 2"
