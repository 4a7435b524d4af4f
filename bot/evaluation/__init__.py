"""The evaluation suite: scored, reproducible, offline, with reports staff can read.

* ``cases``: the JSONL case format and its loader (errors name the file and line);
* ``runner``: plays cases through the bot exactly like ``replay`` and scores them;
* ``scoring``: deterministic checks (dosing withheld, false refusal, emergency referral,
  coverage, must_not, citation validity, warnings, scope, recall@k);
* ``groundedness``: sentence-vs-cited-passage support, calibrated on hand-labelled pairs;
* ``metrics`` and ``gates``: aggregation per category and the CI thresholds;
* ``report``: report.json, report.md and a self-contained report.html, with comparison;
* ``stubs``: turn a flagged conversation into a new case stub (``case_stub``).
"""

from .cases import CATEGORIES, EXPECT_KEYS, Case, Expect, load_cases
from .stubs import case_stub

__all__ = ["CATEGORIES", "EXPECT_KEYS", "Case", "Expect", "case_stub", "load_cases"]
