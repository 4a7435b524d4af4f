"""The gate: the golden set on the real corpus with the real model must pass every threshold.

This is what CI runs (marker `integration`). It plays every case through the same code
path as `kratom-bot replay`, scores it and checks tests/eval/gates.toml. The reports are
written to test-artifacts/eval-report/ for people to read when it fails.
"""

from __future__ import annotations

import pytest

from bot.corpus import load_corpus
from bot.evaluation.cases import load_cases
from bot.evaluation.gates import load_gates
from bot.evaluation.report import build_report, write_reports
from bot.evaluation.runner import run_suite

from .conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVAL = ROOT / "tests" / "eval"


def test_golden_suite_passes_every_gate(real_corpus_bot):
    cases = load_cases(EVAL / "cases.jsonl")
    gates = load_gates(EVAL / "gates.toml")
    run = run_suite(
        real_corpus_bot, cases, corpus=load_corpus(ROOT / "corpus"), prompts=real_corpus_bot.prompts,
        labels_path=EVAL / "groundedness_labels.jsonl", calibration_path=EVAL / "groundedness_calibration.json",
        gates=gates, meta={"generator": "extractive"},
    )
    paths = write_reports(build_report(run), ROOT / "test-artifacts" / "eval-report")

    unmeasured = [g.gate.metric for g in run.gates if not g.measured]
    assert not unmeasured, f"the golden set no longer measures {unmeasured}"
    failing = [r for r in run.results if not r.passed]
    detail = "\n".join(
        f"  {r.case.id} ({r.case.category}): " + "; ".join(f"{c.metric}: {c.reason}" for c in r.failures)
        for r in failing[:40]
    )
    assert run.passed, (
        "evaluation gates failed:\n  " + "\n  ".join(g.describe() for g in run.failed_gates)
        + f"\nreport: {paths['html']}\nfailing cases ({len(failing)}):\n{detail}"
    )
