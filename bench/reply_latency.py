"""Per-stage latency of a warm reply, against the floor and a naive baseline, in one run.

Usage: .venv/bin/python bench/reply_latency.py [--repeats 5] [--corpus corpus] [--cache DIR] [--out DIR]

Three things are timed for every benchmark question, in rotating order so that noise from
the shared cores hits them alike:

* the **reply**: ``Chatbot.reply`` on the warm bot (model loaded, index open), with its
  per-stage timings from ``Reply.trace["timings_ms"]``;
* the **floor**: one query embedding plus one Chroma top-k query on the chunk collection
  (documents, metadata and distances), which no retrieval-based answer can beat;
* the **naive baseline**: langchain's ``Chroma.similarity_search`` over the same collection
  with ``HuggingFaceEmbeddings`` on the same packaged model, plus plain concatenation of
  the top chunks: no guard, no FAQ, no composition, no citations, no warnings.

Question embeddings are never served from the embedder's cache (each reply pays for its
embedding as a new visitor's question would). Writes bench/results/reply_latency.json.
Target: median reply <= 3x the median floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot  # noqa: F401,E402  (offline environment)
from bot.guard.input import forget_turn_analyses  # noqa: E402
from _common import (  # noqa: E402
    QUESTIONS, REAL_CORPUS, active_build_dir, bench_settings, copy_state, load_average, percentile, prepared_state, summary,
    write_result,
)

# Stage names in Reply.trace["timings_ms"], in pipeline order, with what they cover.
STAGES = {
    "guard": "normalise + input guard (rules, classifier, context)",
    "embed": "query embedding",
    "faq": "curated-FAQ match",
    "retrieve": "retrieval",
    "compose": "composition",
    "output_guard": "output guard",
    "warnings": "warnings",
}


def uncached_embedder(settings):
    """The app's embedder, except that no question is answered from its cache.

    The LRU cache would make a repeated benchmark question cost no embedding at all.
    Fixed texts the pipeline embeds for every refusal (``GUARD_QUERIES``) stay cached, as
    they are in the running app.
    """
    from bot.embedding import SentenceTransformerEmbedder

    try:
        from bot.chatbot import GUARD_QUERIES

        keep = set(GUARD_QUERIES.values())
    except ImportError:
        keep = set()

    class Uncached(SentenceTransformerEmbedder):
        def embed(self, texts):
            vectors = super().embed(texts)
            if len(texts) == 1 and texts[0] not in keep:
                getattr(self, "_cache", {}).pop(texts[0], None)
            return vectors

    embedder = Uncached(settings.embedding_model, batch_size=settings.embedding_batch_size)
    embedder.warm_up()
    return embedder


def run(corpus: Path, repeats: int, cache: Path | None, questions: list[str]) -> dict:
    """Measure replies, floor and baseline for every question ``repeats`` times."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    from bot.embedding import packaged_model_path
    from bot.store import _chroma_settings  # the same client settings as the app (Chroma insists)
    from bot.wiring import load_chatbot

    template = prepared_state(corpus, cache)
    with tempfile.TemporaryDirectory(prefix="bench-reply-") as tmp:
        state = copy_state(template, Path(tmp) / "state")
        settings = bench_settings(corpus, state)
        embedder = uncached_embedder(settings)
        chatbot = load_chatbot(settings, embedder=embedder, build_index=False)
        client = chromadb.PersistentClient(path=str(active_build_dir(state)), settings=_chroma_settings())
        chunks = client.get_collection("chunks", embedding_function=None)
        top_k = settings.top_k
        lc_store = Chroma(
            client=client,
            collection_name="chunks",
            embedding_function=HuggingFaceEmbeddings(model_name=str(packaged_model_path())),
            create_collection_if_not_exists=False,
        )

        def reply(q):
            return chatbot.reply(q)

        def floor(q):
            vec = embedder.embed([q])[0]
            return chunks.query(query_embeddings=[vec], n_results=top_k, include=["documents", "metadatas", "distances"])

        def baseline(q):
            docs = lc_store.similarity_search(q, k=top_k)
            return "\n\n".join(d.page_content for d in docs)

        paths = {"reply": reply, "floor": floor, "baseline": baseline}
        for q in questions:  # warm-up: torch kernels, Chroma caches, lazy indexes
            for fn in paths.values():
                fn(q)

        samples: dict[str, list[float]] = {name: [] for name in paths}
        ratios: list[float] = []
        stage_samples: dict[str, list[float]] = {}
        other: list[float] = []
        by_source: dict[str, list[float]] = {}
        names = list(paths)
        started_load = load_average()
        t_start = time.perf_counter()
        for rep in range(repeats):
            for i, q in enumerate(questions):
                order = names[(rep + i) % 3 :] + names[: (rep + i) % 3]
                took: dict[str, float] = {}
                result = None
                for name in order:
                    forget_turn_analyses()  # a repeated question must pay for its guard analysis again
                    t0 = time.perf_counter()
                    out = paths[name](q)
                    took[name] = (time.perf_counter() - t0) * 1000
                    if name == "reply":
                        result = out
                for name, ms in took.items():
                    samples[name].append(ms)
                ratios.append(took["reply"] / took["floor"])
                timings = dict(result.trace.get("timings_ms", {}))
                total = timings.pop("total", took["reply"])
                for stage, ms in timings.items():
                    stage_samples.setdefault(stage, []).append(ms)
                other.append(max(0.0, total - sum(timings.values())))
                by_source.setdefault(result.answer_source, []).append(total)
        seconds = time.perf_counter() - t_start

    reply_s, floor_s, base_s = (summary(samples[n]) for n in ("reply", "floor", "baseline"))
    stages = {
        stage: {"covers": STAGES.get(stage, stage), **summary(ms), "share_of_total": round(sum(ms) / sum(samples["reply"]), 3)}
        for stage, ms in sorted(stage_samples.items(), key=lambda kv: list(STAGES).index(kv[0]) if kv[0] in STAGES else 99)
    }
    stages["other"] = {"covers": "validation, text clean-up, query building, trace and Reply assembly", **summary(other),
                       "share_of_total": round(sum(other) / sum(samples["reply"]), 3)}
    ratio = reply_s["median_ms"] / floor_s["median_ms"]
    return {
        "corpus": str(corpus),
        "questions": len(questions),
        "repeats": repeats,
        "settings": {"top_k": top_k, "hybrid": settings.hybrid, "faq_threshold": settings.faq_threshold},
        "reply": reply_s,
        "floor": floor_s,
        "baseline_langchain": base_s,
        "stages": stages,
        "reply_by_answer_source": {k: summary(v) for k, v in sorted(by_source.items())},
        "ratio_reply_to_floor": round(ratio, 2),
        "ratio_reply_to_floor_per_question": {
            "median": round(statistics.median(ratios), 2), "p95": round(percentile(ratios, 95), 2), "n": len(ratios),
        },
        "ratio_baseline_to_floor": round(base_s["median_ms"] / floor_s["median_ms"], 2),
        "ratio_reply_to_baseline": round(reply_s["median_ms"] / base_s["median_ms"], 2),
        "target": "median reply <= 3x median floor",
        "met": ratio <= 3.0,
        "seconds": round(seconds, 1),
        "load_average_start": started_load,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="passes over the question set")
    parser.add_argument("--corpus", type=Path, default=REAL_CORPUS)
    parser.add_argument("--cache", type=Path, default=None, help="where prepared indexes are kept")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="use only the first N questions")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    result = run(args.corpus, args.repeats, args.cache, QUESTIONS[: args.questions])
    path = write_result("reply_latency", result, args.out)
    r, f, b = result["reply"], result["floor"], result["baseline_langchain"]
    print(f"reply    median {r['median_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms")
    print(f"floor    median {f['median_ms']:8.1f} ms  p95 {f['p95_ms']:8.1f} ms")
    print(f"baseline median {b['median_ms']:8.1f} ms  p95 {b['p95_ms']:8.1f} ms")
    for stage, s in result["stages"].items():
        print(f"  {stage:<13} median {s['median_ms']:7.2f} ms  p95 {s['p95_ms']:7.2f} ms  ({s['n']} replies)")
    print(f"reply/floor {result['ratio_reply_to_floor']}x (target <= 3x: {'met' if result['met'] else 'MISSED'}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
