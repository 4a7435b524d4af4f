"""Tune the FAQ-matching threshold on held-apart paraphrases (not the FAQ's own phrasings).

Usage::

    .venv/bin/python bench/tune_faq.py [--corpus corpus] [--paraphrases tests/data/paraphrases]
                                       [--out bench/results/faq_threshold.json] [--min-precision 0.95]

Every paraphrase is embedded with the real model and matched to the closest FAQ
phrasing exactly as ``FaqAnswerer.match`` does at answer time. At a threshold ``t`` a
question "gets an FAQ answer" when its best similarity is at least ``t``; the answer is
correct when the matched entry is the paraphrase's ``faq_id`` (paraphrases with
``faq_id: null`` have no FAQ entry, so any FAQ answer for them is wrong).

The paraphrases are split deterministically (by a hash of the question) into a tune
half and a test half. The threshold is chosen on the tune half only: the lowest
threshold whose precision is at least ``--min-precision`` (that maximises recall at the
required precision), then checked on the test half. The whole precision/recall curve
of both halves is written to the JSON report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import _offline  # noqa: E402,F401  (offline environment before any model import)


@dataclass(frozen=True)
class Scored:
    """One paraphrase with its closest FAQ phrasing."""

    question: str
    gold: str | None
    predicted: str | None
    matched_question: str
    similarity: float
    half: str


def load_paraphrases(folder: Path) -> list[dict]:
    """All ``{"question", "faq_id", "doc_ids"}`` rows of the JSONL files in ``folder``."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}, line {n}: not valid JSON ({exc.msg})") from None
            if not isinstance(row.get("question"), str):
                raise SystemExit(f"{path}, line {n}: needs a 'question' string")
            rows.append({**row, "file": path.name})
    return rows


def half_of(question: str) -> str:
    """Deterministic tune/test split: the parity of a SHA-256 of the normalised question."""
    digest = hashlib.sha256(" ".join(question.lower().split()).encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "test"


def score(corpus_dir: Path, rows: list[dict]) -> tuple[list[Scored], dict]:
    """Build a throwaway index of the corpus and match every paraphrase against the FAQ."""
    from bot.compose import FaqAnswerer
    from bot.corpus import corpus_fingerprint, load_corpus
    from bot.settings import Settings
    from bot.store import ActiveIndex
    from bot.wiring import build_components, ensure_index

    with tempfile.TemporaryDirectory(prefix="tune-faq-") as state:
        settings = Settings(corpus_dir=corpus_dir, data_dir=Path(state))
        components = build_components(settings)
        corpus = load_corpus(corpus_dir)
        known = {e.id for e in corpus.faq}
        unknown = sorted({r["faq_id"] for r in rows if r.get("faq_id") and r["faq_id"] not in known})
        if unknown:
            raise SystemExit(f"paraphrases name FAQ ids that the corpus does not have: {', '.join(unknown)}")
        ensure_index(components, corpus)
        build = ActiveIndex(components.builder.layout).current()
        faq = FaqAnswerer()
        vectors = components.embedder.embed([r["question"] for r in rows])
        scored = []
        for row, vec in zip(rows, vectors):
            match = faq.match(build, vec)
            scored.append(
                Scored(
                    question=row["question"],
                    gold=row.get("faq_id"),
                    predicted=match.faq_id if match else None,
                    matched_question=match.question if match else "",
                    similarity=round(float(match.similarity), 4) if match else -1.0,
                    half=half_of(row["question"]),
                )
            )
        meta = {
            "embedding_model": components.embedder.name,
            "corpus_fingerprint": corpus_fingerprint(corpus),
            "faq_entries": len(corpus.faq),
            "faq_phrasings": sum(len(e.questions) for e in corpus.faq),
        }
    return scored, meta


def metrics(items: list[Scored], threshold: float) -> dict:
    """Precision, recall and counts of FAQ answers at one threshold."""
    answered = [s for s in items if s.similarity >= threshold]
    correct = sum(1 for s in answered if s.gold is not None and s.predicted == s.gold)
    with_faq = sum(1 for s in items if s.gold is not None)
    return {
        "answered": len(answered),
        "correct": correct,
        "wrong": len(answered) - correct,
        "wrong_on_no_faq_questions": sum(1 for s in answered if s.gold is None),
        "precision": round(correct / len(answered), 4) if answered else None,
        "recall": round(correct / with_faq, 4) if with_faq else None,
        "coverage": round(len(answered) / len(items), 4) if items else None,
    }


def choose(tune: list[Scored], grid: list[float], min_precision: float, min_answered: int) -> tuple[float, str]:
    """The threshold to ship, chosen on the tune half only.

    First choice: the lowest threshold whose tune precision reaches ``min_precision``
    over at least ``min_answered`` FAQ answers (a precision of 1.0 over two answers says
    little). When no threshold gets there, a wrong curated answer is worse than a
    composed one, so take the lowest threshold at which the tune half gets no wrong FAQ
    answer at all.
    """
    for t in grid:
        m = metrics(tune, t)
        if m["answered"] >= min_answered and m["precision"] is not None and m["precision"] >= min_precision:
            return t, f"lowest threshold with tune precision >= {min_precision} over >= {min_answered} FAQ answers"
    for t in grid:
        if metrics(tune, t)["wrong"] == 0:
            return t, (
                f"no threshold reached tune precision {min_precision} over >= {min_answered} answers; "
                "chose the lowest threshold with no wrong FAQ answer on the tune half"
            )
    return grid[-1], "every threshold gave a wrong FAQ answer on the tune half; chose the highest"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--paraphrases", type=Path, default=ROOT / "tests" / "data" / "paraphrases")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faq_threshold.json")
    parser.add_argument("--min-precision", type=float, default=0.95)
    parser.add_argument("--min-answered", type=int, default=10)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = load_paraphrases(args.paraphrases)
    scored, meta = score(args.corpus, rows)
    tune = [s for s in scored if s.half == "tune"]
    test = [s for s in scored if s.half == "test"]
    grid = [round(0.50 + 0.01 * i, 2) for i in range(50)]  # 0.50 .. 0.99
    chosen, rule = choose(tune, grid, args.min_precision, args.min_answered)
    curve = [{"threshold": t, "tune": metrics(tune, t), "test": metrics(test, t), "all": metrics(scored, t)} for t in grid]
    errors = [
        {"question": s.question, "gold": s.gold, "predicted": s.predicted, "matched_question": s.matched_question,
         "similarity": s.similarity, "half": s.half}
        for s in sorted(scored, key=lambda s: -s.similarity)
        if s.similarity >= chosen and s.predicted != s.gold
    ]
    near_misses = [
        {"question": s.question, "gold": s.gold, "predicted": s.predicted, "similarity": s.similarity, "half": s.half}
        for s in sorted(scored, key=lambda s: -s.similarity)
        if chosen - 0.05 <= s.similarity < chosen
    ]
    report = {
        "created": dt.date.today().isoformat(),
        **meta,
        "paraphrases": len(scored),
        "paraphrases_with_faq": sum(1 for s in scored if s.gold is not None),
        "split": {"method": "sha256(normalised question)[0] % 2 == 0 -> tune", "tune": len(tune), "test": len(test)},
        "min_precision": args.min_precision,
        "min_answered": args.min_answered,
        "nearest_entry_is_intended": round(
            sum(1 for s in scored if s.gold is not None and s.predicted == s.gold) / max(1, sum(1 for s in scored if s.gold is not None)), 4
        ),
        "chosen_threshold": chosen,
        "rule": rule,
        "at_chosen": {"tune": metrics(tune, chosen), "test": metrics(test, chosen), "all": metrics(scored, chosen)},
        "wrong_faq_answers_at_chosen": errors,
        "just_below_chosen": near_misses,
        "curve": curve,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    at = report["at_chosen"]
    print(
        f"chosen threshold {chosen} ({rule})\n"
        f"  tune: precision {at['tune']['precision']} recall {at['tune']['recall']} ({at['tune']['answered']} FAQ answers)\n"
        f"  test: precision {at['test']['precision']} recall {at['test']['recall']} ({at['test']['answered']} FAQ answers)\n"
        f"wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
