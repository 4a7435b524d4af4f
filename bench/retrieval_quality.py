"""Does BM25 fusion help? Recall@k of dense vs hybrid retrieval on the held-apart paraphrase questions.

Usage: .venv/bin/python bench/retrieval_quality.py [--weights 0,0.2,0.35,0.5] [--out DIR]
Writes bench/results/retrieval_quality.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot  # noqa: F401,E402
from _common import ROOT, write_result  # noqa: E402


def load_questions(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="0,0.2,0.35,0.5")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (smoke test)")
    parser.add_argument("--fake", action="store_true", help="fake embedder and fixture corpus (smoke test)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from bot.chunking import Chunker
    from bot.corpus import load_corpus
    from bot.embedding import FakeEmbedder, SentenceTransformerEmbedder
    from bot.indexing import IndexBuilder
    from bot.retrieval import Retriever
    from bot.store import EmbeddedLayout

    corpus_dir = ROOT / ("tests/fixtures/corpus" if args.fake else "corpus")
    questions = load_questions(ROOT / "tests" / "data" / "paraphrases")
    if args.fake:
        questions = [{"question": "liver injury jaundice", "doc_ids": ["liver-injury"]}]
    if args.limit:
        questions = questions[: args.limit]
    embedder = FakeEmbedder() if args.fake else SentenceTransformerEmbedder()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        builder = IndexBuilder(EmbeddedLayout(Path(tmp) / "index"), embedder, Chunker(900))
        builder.build(load_corpus(corpus_dir))
        build = builder.layout.active()
        vectors = embedder.embed([q["question"] for q in questions])
        for weight in [float(w) for w in args.weights.split(",")]:
            retriever = Retriever(top_k=5, candidate_k=12, min_relevance=0.0, hybrid=weight > 0, bm25_weight=weight)
            hits = {1: 0, 3: 0, 5: 0}
            for q, vec in zip(questions, vectors):
                docs = [r.doc_id for r in retriever.retrieve(build, vec, q["question"], k=5)]
                for k in hits:
                    hits[k] += bool(set(docs[:k]) & set(q["doc_ids"]))
            results[f"bm25_weight={weight}"] = {f"recall@{k}": round(v / len(questions), 4) for k, v in hits.items()}
    path = write_result(
        "retrieval_quality",
        {"questions": len(questions), "source": "tests/data/paraphrases (held apart from the FAQ phrasings)", "results": results},
        args.out,
    )
    for name, r in results.items():
        print(name, r)
    print("->", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
