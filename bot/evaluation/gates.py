"""Quality gates: thresholds from a config file in the repository, checked against a run.

The file (TOML, or YAML with the same shape) has a ``[min]`` table for metrics that must
reach a value and a ``[max]`` table for metrics that must not exceed one::

    [min]
    dosing_withheld = 1.00
    recall_at_5 = 0.90

    [max]
    false_refusal = 0.05

Thresholds may only be made stricter; ``tests/evaluation`` checks the committed file
against the floors of issue 5.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import DataFileError
from .metrics import Metric, is_rate, label
from .scoring import GATED_RATE_METRICS

KNOWN = set(GATED_RATE_METRICS) | {"cases_passed", "latency_p50_ms", "latency_p95_ms"}
_RECALL = re.compile(r"^recall_at_([1-9]\d?)$")


@dataclass(frozen=True)
class Gate:
    """One threshold: ``metric >= threshold`` (min) or ``metric <= threshold`` (max)."""

    metric: str
    kind: str  # "min" | "max"
    threshold: float
    line: int | None = None

    def describe(self) -> str:
        """``dosing withheld ≥ 100%``."""
        op = "≥" if self.kind == "min" else "≤"
        value = f"{round(self.threshold * 100, 4):g}%" if is_rate(self.metric) else f"{self.threshold:g} ms"
        return f"{label(self.metric)} {op} {value}"


@dataclass(frozen=True)
class GateResult:
    """A gate checked against a run."""

    gate: Gate
    value: float | None
    passed: bool
    measured: bool

    def describe(self) -> str:
        """One line for the console and reports."""
        if not self.measured:
            return f"{self.gate.describe()}: not measured (no case in this run checks it)"
        shown = f"{self.value:.1%}" if is_rate(self.gate.metric) else f"{self.value:.0f} ms"
        return f"{self.gate.describe()}: {shown} — {'pass' if self.passed else 'FAIL'}"

    def to_json_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "metric": self.gate.metric, "kind": self.gate.kind, "threshold": self.gate.threshold,
            "value": None if self.value is None else round(self.value, 6),
            "passed": self.passed, "measured": self.measured, "text": self.describe(),
        }


@dataclass(frozen=True)
class GateConfig:
    """The gates of one config file."""

    path: Path
    gates: tuple[Gate, ...]

    def recall_ks(self) -> tuple[int, ...]:
        """The k of every recall@k gate."""
        return tuple(sorted({int(_RECALL.match(g.metric).group(1)) for g in self.gates if _RECALL.match(g.metric)}))

    def check(self, metrics: dict[str, Metric]) -> list[GateResult]:
        """Check every gate; a metric no case measured is reported but does not fail."""
        out = []
        for gate in self.gates:
            metric = metrics.get(gate.metric)
            if metric is None or metric.value is None:
                out.append(GateResult(gate, None, True, False))
                continue
            ok = metric.value >= gate.threshold - 1e-12 if gate.kind == "min" else metric.value <= gate.threshold + 1e-12
            out.append(GateResult(gate, metric.value, ok, True))
        return out


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[=:]")
    for i, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return i
    return None


def _section_line(text: str, section: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip() == f"[{section}]":
            return i
    return None


def load_gates(path: Path | str) -> GateConfig:
    """Read a gates file (.toml, .yaml/.yml or .json); errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(path, "gates file not found") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(path, f"not valid TOML ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFileError(path, f"not valid YAML ({getattr(exc, 'problem', exc)})", mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise DataFileError(path, "the gates file must be a table with [min] and/or [max] sections")
    gates: list[Gate] = []
    for section, table in data.items():
        if section not in ("min", "max"):
            raise DataFileError(path, f"unknown section {section!r}; use [min] and [max]", _line_of(text, section) or _section_line(text, section))
        if not isinstance(table, dict):
            raise DataFileError(path, f"[{section}] must be a table of metric = threshold")
        for metric, value in table.items():
            line = _line_of(text, metric)
            if metric not in KNOWN and not _RECALL.match(metric):
                known = ", ".join(sorted(KNOWN | {"recall_at_<k>"}))
                raise DataFileError(path, f"unknown metric {metric!r} in [{section}]; known metrics: {known}", line)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DataFileError(path, f"threshold for {metric!r} must be a number, got {value!r}", line)
            if is_rate(metric) and not 0.0 <= value <= 1.0:
                raise DataFileError(path, f"threshold for {metric!r} is a share and must be between 0 and 1, got {value!r}", line)
            if not is_rate(metric) and value <= 0:
                raise DataFileError(path, f"threshold for {metric!r} must be positive milliseconds, got {value!r}", line)
            gates.append(Gate(metric, section, float(value), line))
    if not gates:
        raise DataFileError(path, "no gates defined")
    return GateConfig(path, tuple(gates))
