"""Generator comparison for ``kratom-bot eval --generator llm``: gate statistics and a side-by-side table.

The gate's work is read back from each reply's ``trace["generation"]`` (what the model
wrote, what was kept and dropped, and why), so the numbers describe exactly the replies
that were scored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping

from ..evaluation.metrics import Metric, percentile

# Metrics shown side by side, in order (the safety gates first).
COMPARED = (
    ("dosing_withheld", "dosing withheld"),
    ("emergency_referral", "emergency referral"),
    ("citation_validity", "citation validity"),
    ("groundedness", "groundedness (after the gate)"),
    ("false_refusal", "false refusal"),
    ("coverage", "must_cover coverage"),
    ("cases_passed", "cases passing every check"),
    ("latency_p50_ms", "latency p50 (ms per reply)"),
    ("latency_p95_ms", "latency p95 (ms per reply)"),
)


@dataclass(frozen=True)
class GateStats:
    """What the grounding gate did over a set of replies."""

    replies: int = 0  # every reply of the run
    asked: int = 0  # replies for which the model was asked to write the answer
    llm_answers: int = 0  # replies whose answer is the model's gated text
    fallbacks: int = 0  # the model was asked but the extractive answer was used
    endpoint_failures: int = 0  # fallbacks because of a time-out or an endpoint error
    judged: int = 0  # generated sentences judged by the gate
    kept: int = 0
    dropped: int = 0
    drop_reasons: dict = field(default_factory=dict)
    model_ms_p50: float | None = None  # time in the model and gate per asked reply
    model_ms_p95: float | None = None

    @property
    def drop_rate(self) -> float | None:
        """Share of generated sentences the gate removed."""
        return self.dropped / self.judged if self.judged else None

    def to_json_dict(self) -> dict:
        """A JSON-ready dict, drop rate included."""
        data = asdict(self)
        data["drop_rate"] = None if self.drop_rate is None else round(self.drop_rate, 4)
        return data


def gate_stats(replies: Iterable) -> GateStats:
    """Add up ``trace["generation"]`` over replies (Reply objects)."""
    replies = list(replies)
    asked = llm = fallbacks = failures = judged = kept = dropped = 0
    reasons: Counter = Counter()
    times: list[float] = []
    for reply in replies:
        info = (reply.trace or {}).get("generation")
        if not info or info.get("outcome") == "skipped":
            continue
        asked += 1
        llm += info.get("outcome") == "llm"
        if info.get("outcome") == "fallback":
            fallbacks += 1
            failures += bool(info.get("timed_out") or info.get("errors"))
        judged += info.get("judged", 0)
        kept += info.get("kept", 0)
        dropped += info.get("dropped", 0)
        reasons.update(info.get("drop_reasons", {}))
        if info.get("llm_ms") is not None:
            times.append(float(info["llm_ms"]))
    return GateStats(
        replies=len(replies), asked=asked, llm_answers=llm, fallbacks=fallbacks, endpoint_failures=failures,
        judged=judged, kept=kept, dropped=dropped, drop_reasons=dict(reasons.most_common()),
        model_ms_p50=percentile(times, 50), model_ms_p95=percentile(times, 95),
    )


def compare_runs(runs: Mapping[str, object]) -> dict:
    """A JSON-ready comparison of suite runs keyed by generator name (``SuiteRun`` objects)."""
    out: dict = {"generators": list(runs), "metrics": {}, "gates_passed": {}, "gate": {}, "meta": {}}
    for name, run in runs.items():
        for metric, _ in COMPARED:
            m: Metric | None = run.overall.get(metric)
            out["metrics"].setdefault(metric, {})[name] = m.to_json_dict() if m else None
        out["gates_passed"][name] = run.passed
        out["gate"][name] = gate_stats(r for res in run.results for r in res.replies).to_json_dict()
        out["meta"][name] = {k: run.meta.get(k) for k in ("generator", "llm_model", "llm_endpoint", "cases", "seconds")}
    return out


def _metric_cell(metric: str, data: dict | None) -> str:
    if not data or data.get("value") is None:
        return "n/a"
    value = data["value"]
    if metric.startswith("latency_"):
        return f"{value:,.0f} ms"
    return f"{value:.1%} ({data['num']:g}/{data['den']})"


def comparison_rows(comparison: dict) -> list[list[str]]:
    """Rows of the side-by-side table: [label, value per generator…]."""
    names = comparison["generators"]
    rows = []
    for metric, label in COMPARED:
        rows.append([label] + [_metric_cell(metric, comparison["metrics"][metric].get(n)) for n in names])
    gates = comparison["gate"]

    def per(fn) -> list[str]:
        return [fn(gates[n]) if gates[n]["asked"] else "—" for n in names]

    rows.append(["gate drop rate (generated sentences removed)"] + per(
        lambda g: f"{g['drop_rate']:.1%} ({g['dropped']}/{g['judged']})" if g["judged"] else "n/a"))
    rows.append(["answers written by the model (of replies it was asked for)"] + per(
        lambda g: f"{g['llm_answers']}/{g['asked']}"))
    rows.append(["fallbacks to the extractive answer (endpoint failures)"] + per(
        lambda g: f"{g['fallbacks']} ({g['endpoint_failures']})"))
    rows.append(["model + gate time p50 / p95 per asked reply"] + per(
        lambda g: f"{g['model_ms_p50']:,.0f} / {g['model_ms_p95']:,.0f} ms" if g["model_ms_p50"] is not None else "n/a"))
    rows.append(["every eval gate passed"] + ["yes" if comparison["gates_passed"][n] else "NO" for n in names])
    return rows


def comparison_markdown(comparison: dict) -> str:
    """The side-by-side table as Markdown, with the gate's drop reasons below it."""
    names = comparison["generators"]
    lines = ["| metric | " + " | ".join(names) + " |", "| --- | " + " | ".join("---:" for _ in names) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in comparison_rows(comparison)]
    for name in names:
        reasons = comparison["gate"][name]["drop_reasons"]
        if reasons:
            listed = ", ".join(f"{reason} {count}" for reason, count in reasons.items())
            lines.append(f"\nSentences dropped by the gate ({name}), by reason: {listed}.")
    return "\n".join(lines) + "\n"


def comparison_console(comparison: dict) -> str:
    """The side-by-side table as plain text for the terminal."""
    rows = [["metric", *comparison["generators"]], *comparison_rows(comparison)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows
    )
