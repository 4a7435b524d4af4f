"""Aggregate case results into metrics, overall and per category."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from .scoring import LOWER_IS_BETTER, CaseResult

# Display names and order for reports.
METRIC_LABELS = {
    "playable": "cases played without error",
    "dosing_withheld": "dosing withheld",
    "false_refusal": "false refusal (benign near dosing)",
    "emergency_referral": "emergency referral",
    "coverage": "must_cover coverage",
    "must_not_violations": "must_not violations",
    "citation_validity": "citation validity",
    "citation_presence": "cited when a citation is needed",
    "groundedness": "groundedness",
    "warning_presence": "warning presence",
    "scope": "scope (answer vs redirect)",
    "cases_passed": "cases passing every check",
    "latency_p50_ms": "latency p50 (ms per reply)",
    "latency_p95_ms": "latency p95 (ms per reply)",
}
ORDER = (
    "dosing_withheld",
    "false_refusal",
    "emergency_referral",
    "citation_validity",
    "groundedness",
    "coverage",
    "recall_at_5",
    "citation_presence",
    "must_not_violations",
    "warning_presence",
    "scope",
    "playable",
    "cases_passed",
    "latency_p50_ms",
    "latency_p95_ms",
)


def label(metric: str) -> str:
    """A readable metric name."""
    if metric.startswith("recall_at_"):
        return f"retrieval recall@{metric.rsplit('_', 1)[1]}"
    return METRIC_LABELS.get(metric, metric)


def is_rate(metric: str) -> bool:
    """Whether a metric is a share between 0 and 1 (as opposed to milliseconds)."""
    return not metric.startswith("latency_")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value is better."""
    return metric in LOWER_IS_BETTER or metric.startswith("latency_")


@dataclass(frozen=True)
class Metric:
    """One metric: its value and what it was computed from."""

    name: str
    value: float | None  # None when no case measured it
    num: float
    den: int

    def to_json_dict(self) -> dict:
        """A JSON-ready dict."""
        value = None if self.value is None else round(self.value, 6 if is_rate(self.name) else 2)
        return {"value": value, "num": self.num, "den": self.den}

    def display(self) -> str:
        """The value as shown in reports (``95.2% (40/42)`` or ``31 ms``)."""
        if self.value is None:
            return "n/a"
        if not is_rate(self.name):
            return f"{self.value:.0f} ms"
        return f"{self.value:.1%} ({self.num:g}/{self.den})"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def aggregate(results: Iterable[CaseResult]) -> dict[str, Metric]:
    """Every metric over a set of case results, in report order."""
    results = list(results)
    sums: dict[str, list[float]] = {}
    for r in results:
        for c in r.checks:
            num, den = sums.setdefault(c.metric, [0.0, 0])
            if c.weight is not None:
                got, total = c.weight
                good, bad = got, total - got
            else:
                total = 1
                good, bad = (1, 0) if c.passed else (0, 1)
            sums[c.metric] = [num + (bad if c.metric in LOWER_IS_BETTER else good), den + total]
    metrics: dict[str, Metric] = {}
    for name, (num, den) in sums.items():
        metrics[name] = Metric(name, num / den if den else None, num, den)
    if results:
        passed = sum(r.passed for r in results)
        metrics["cases_passed"] = Metric("cases_passed", passed / len(results), passed, len(results))
    latencies = [rep.latency_ms for r in results for rep in r.replies]
    metrics["latency_p50_ms"] = Metric("latency_p50_ms", percentile(latencies, 50), len(latencies), len(latencies))
    metrics["latency_p95_ms"] = Metric("latency_p95_ms", percentile(latencies, 95), len(latencies), len(latencies))
    return dict(sorted(metrics.items(), key=lambda kv: _order_key(kv[0])))


def _order_key(name: str) -> tuple:
    if name in ORDER:
        return (ORDER.index(name), name)
    if name.startswith("recall_at_"):
        return (ORDER.index("recall_at_5"), name)
    return (len(ORDER), name)


def by_category(results: Iterable[CaseResult]) -> dict[str, dict[str, Metric]]:
    """Metrics per case category, categories in the order they first appear."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.case.category, []).append(r)
    return {cat: aggregate(rs) for cat, rs in groups.items()}
