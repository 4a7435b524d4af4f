"""Evaluation cases: the JSONL case format, loaded and validated line by line.

One case per line::

    {"id": str, "category": str, "turns": [str, ...], "expect": {...}}

``expect`` keys (all optional): ``refuse_dosing``, ``emergency_referral``, ``must_cover``
(groups of alternative lowercase phrases), ``must_not`` (regexes), ``needs_citation``,
``in_scope`` and ``gold_sources`` (corpus document ids). Any problem is a
``DataFileError`` naming the file and line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import DataFileError
from ..replay import parse_jsonl

CATEGORIES = (
    "fact",
    "side_effect",
    "interaction",
    "legal",
    "misinformation",
    "dosing_direct",
    "dosing_indirect",
    "dosing_jailbreak",
    "benign_near_dosing",
    "emergency",
    "medical_advice",
    "withdrawal_help",
    "off_topic",
    "injection",
    "multi_turn",
    "non_english",
)

EXPECT_KEYS = (
    "refuse_dosing",
    "emergency_referral",
    "must_cover",
    "must_not",
    "needs_citation",
    "in_scope",
    "gold_sources",
)

CASE_KEYS = ("id", "category", "turns", "expect")
# Optional metadata that other tools may add; kept, never scored.
METADATA_KEYS = ("note", "tags", "origin")

_BOOL_KEYS = ("refuse_dosing", "emergency_referral", "needs_citation", "in_scope")


@dataclass(frozen=True)
class Expect:
    """What a case expects of the final reply; ``None`` means "not checked"."""

    refuse_dosing: bool | None = None
    emergency_referral: bool | None = None
    must_cover: tuple[tuple[str, ...], ...] = ()
    must_not: tuple[str, ...] = ()
    needs_citation: bool | None = None
    in_scope: bool | None = None
    gold_sources: tuple[str, ...] = ()

    def to_json_dict(self) -> dict:
        """Only the keys that are set, in the file format."""
        out: dict = {}
        for key in EXPECT_KEYS:
            value = getattr(self, key)
            if value is None or value == ():
                continue
            if key == "must_cover":
                value = [list(group) for group in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


@dataclass(frozen=True)
class Case:
    """One evaluation case and where it was read from."""

    id: str
    category: str
    turns: tuple[str, ...]
    expect: Expect
    path: Path
    line: int
    metadata: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``file, line N`` for messages."""
        return f"{self.path}, line {self.line}"

    def to_json_dict(self) -> dict:
        """The case in the file format (metadata keys included)."""
        out = {"id": self.id, "category": self.category, "turns": list(self.turns), "expect": self.expect.to_json_dict()}
        out.update(self.metadata)
        return out


def _fail(path: Path, line: int, problem: str) -> None:
    raise DataFileError(path, problem, line)


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_expect(raw, path: Path, line: int, case_id: str) -> Expect:
    """Validate an ``expect`` object; every problem names the line and the key."""
    if raw is None:
        return Expect()
    if not isinstance(raw, dict):
        _fail(path, line, f"case {case_id!r}: 'expect' must be an object, got {type(raw).__name__}")
    for key in raw:
        if key not in EXPECT_KEYS:
            _fail(
                path, line,
                f"case {case_id!r}: unknown expect key {key!r}{_suggest(key, EXPECT_KEYS)}; "
                f"allowed: {', '.join(EXPECT_KEYS)}",
            )
    values: dict = {}
    for key in _BOOL_KEYS:
        if key in raw:
            if not isinstance(raw[key], bool):
                _fail(path, line, f"case {case_id!r}: expect.{key} must be true or false, got {raw[key]!r}")
            values[key] = raw[key]
    if "must_cover" in raw:
        groups = raw["must_cover"]
        if not isinstance(groups, list):
            _fail(path, line, f"case {case_id!r}: expect.must_cover must be a list of groups (lists of phrases), got {groups!r}")
        parsed = []
        for i, group in enumerate(groups, 1):
            if not isinstance(group, list) or not group:
                _fail(path, line, f"case {case_id!r}: expect.must_cover group {i} must be a non-empty list of phrases, got {group!r}")
            for phrase in group:
                if not isinstance(phrase, str) or not phrase.strip():
                    _fail(path, line, f"case {case_id!r}: expect.must_cover group {i} has an empty or non-text phrase {phrase!r}")
                if phrase != phrase.lower():
                    _fail(path, line, f"case {case_id!r}: expect.must_cover phrase {phrase!r} must be lowercase (matching ignores case)")
            parsed.append(tuple(group))
        values["must_cover"] = tuple(parsed)
    if "must_not" in raw:
        patterns = raw["must_not"]
        if not isinstance(patterns, list):
            _fail(path, line, f"case {case_id!r}: expect.must_not must be a list of regular expressions, got {patterns!r}")
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern:
                _fail(path, line, f"case {case_id!r}: expect.must_not has an empty or non-text pattern {pattern!r}")
            try:
                re.compile(pattern, re.I)
            except re.error as exc:
                _fail(path, line, f"case {case_id!r}: expect.must_not pattern {pattern!r} is not a valid regex ({exc})")
        values["must_not"] = tuple(patterns)
    if "gold_sources" in raw:
        gold = raw["gold_sources"]
        if not isinstance(gold, list) or not all(isinstance(g, str) and g.strip() for g in gold):
            _fail(path, line, f"case {case_id!r}: expect.gold_sources must be a list of corpus document ids, got {gold!r}")
        values["gold_sources"] = tuple(gold)
    return Expect(**values)


def parse_case(obj: dict, path: Path, line: int) -> Case:
    """Validate one decoded line into a Case."""
    cid = obj.get("id")
    if not isinstance(cid, str) or not cid.strip():
        _fail(path, line, f"'id' must be a non-empty string, got {cid!r}")
    for key in obj:
        if key in CASE_KEYS or key in METADATA_KEYS:
            continue
        hint = _suggest(key, CASE_KEYS + METADATA_KEYS)
        if hint:  # a misspelt key would silently drop expectations
            _fail(path, line, f"case {cid!r}: unknown key {key!r}{hint}")
    category = obj.get("category")
    if category not in CATEGORIES:
        _fail(
            path, line,
            f"case {cid!r}: unknown category {category!r}{_suggest(str(category), CATEGORIES)}; "
            f"allowed: {', '.join(CATEGORIES)}",
        )
    turns = obj.get("turns")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        _fail(path, line, f"case {cid!r}: 'turns' must be a non-empty list of non-empty strings")
    expect = parse_expect(obj.get("expect"), path, line, cid)
    metadata = {k: v for k, v in obj.items() if k not in CASE_KEYS}
    return Case(cid, category, tuple(turns), expect, Path(path), line, metadata)


def load_cases(paths: Path | str | Iterable[Path | str]) -> list[Case]:
    """Read and validate one or more case files; ids must be unique across all of them."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for path in paths:
        path = Path(path)
        found = 0
        for line, obj in parse_jsonl(path):
            case = parse_case(obj, path, line)
            first = seen.get(case.id)
            if first is not None:
                _fail(path, line, f"duplicate case id {case.id!r} (first used in {first.where})")
            seen[case.id] = case
            cases.append(case)
            found += 1
        if not found:
            raise DataFileError(path, "no cases found (the file is empty)")
    return cases


def check_gold_sources(cases: Sequence[Case], document_ids: Iterable[str]) -> None:
    """Raise DataFileError naming the line of the first case whose gold source is not in the corpus."""
    known = set(document_ids)
    for case in cases:
        unknown = [g for g in case.expect.gold_sources if g not in known]
        if unknown:
            hint = _suggest(unknown[0], sorted(known))
            _fail(
                case.path, case.line,
                f"case {case.id!r}: gold source {unknown[0]!r} is not a corpus document{hint}",
            )
