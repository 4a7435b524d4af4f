"""Index build throughput, and the incremental rebuild after one of N documents changes.

Usage: .venv/bin/python bench/index_build.py [--full-repeats 3] [--edits 5] [--corpus corpus] [--out DIR]

Works on a copy of the corpus in a temporary folder, with the real model:

* **full build**: ``IndexBuilder.build(corpus, full=True)`` re-embeds every chunk, sentence
  and FAQ text and writes a new Chroma version; reported as chunks/s and embedded texts/s,
  with the time spent embedding separated from chunking and writing;
* **incremental rebuild**: one document gets one more sentence in one paragraph, then the
  index is brought up to date the way ``kratom-bot index`` does it (load the corpus,
  compare with the active index, build reusing every unchanged embedding); repeated with a
  different document each time;
* **no-change check**: the same with nothing edited (only the freshness check runs).

Writes bench/results/index_build.json. Target: incremental rebuild <= 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot  # noqa: F401,E402  (offline environment)
from _common import REAL_CORPUS, bench_settings, copy_state, load_average, prepared_state, summary, write_result  # noqa: E402


class TimedEmbedder:
    """Wraps an embedder and adds up the time and texts it embeds."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    def embed(self, texts):
        t0 = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - t0
            self.texts += len(texts)

    def reset(self) -> None:
        self.seconds, self.texts = 0.0, 0


def edit_document(path: Path, n: int) -> str:
    """Add one sentence to the first paragraph of a document's body; returns the sentence."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fences = [i for i, line in enumerate(lines) if line.strip() == "---"]
    start = fences[1] + 1 if len(fences) >= 2 else 0
    sentence = f"This sentence was added to measure an incremental rebuild (edit {n})."
    for i in range(start, len(lines)):
        text = lines[i].strip()
        if text and not text.startswith(("#", "-", "*", ">", "|", "<")):
            lines[i] = lines[i].rstrip("\n") + f" {sentence}\n"
            break
    else:
        lines.append(f"\n{sentence}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return sentence


def run(corpus_src: Path, full_repeats: int, edits: int, cache: Path | None) -> dict:
    from bot.corpus import load_corpus
    from bot.embedding import make_embedder
    from bot.wiring import build_components, ensure_index

    template = prepared_state(corpus_src, cache)
    started_load = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        corpus_dir = Path(tmp) / "corpus"
        shutil.copytree(corpus_src, corpus_dir)
        state = copy_state(template, Path(tmp) / "state")
        settings = bench_settings(corpus_dir, state)
        real = make_embedder(settings.embedding_model, settings.embedding_batch_size)
        real.embed(["warm up the model"])
        embedder = TimedEmbedder(real)
        components = build_components(settings, embedder)
        corpus = load_corpus(corpus_dir)
        n_docs = len(corpus.documents)
        n_chunks = sum(len(components.builder.chunker.split(d)) for d in corpus.documents)

        # Incremental rebuilds first, on the prepared (fresh) index.
        check_ms = []
        for _ in range(3):
            t0 = time.perf_counter()
            status, report = ensure_index(components, load_corpus(corpus_dir))
            check_ms.append((time.perf_counter() - t0) * 1000)
            assert report is None, f"the prepared index should be fresh, it is {status.state}: {status.reason}"

        docs = sorted(p for p in (corpus_dir / "docs").glob("*.md"))
        picks = [docs[(i * len(docs)) // max(1, edits)] for i in range(edits)]
        incremental = []
        for n, path in enumerate(picks, 1):
            edit_document(path, n)
            embedder.reset()
            t0 = time.perf_counter()
            edited = load_corpus(corpus_dir)
            t1 = time.perf_counter()
            status, report = ensure_index(components, edited)
            t2 = time.perf_counter()
            if report is None:
                raise RuntimeError(f"editing {path.name} did not make the index stale ({status.reason})")
            incremental.append({
                "document": path.name,
                "total_ms": round((t2 - t0) * 1000, 1),
                "load_corpus_ms": round((t1 - t0) * 1000, 1),
                "build_ms": round(report.seconds * 1000, 1),
                "embed_ms": round(embedder.seconds * 1000, 1),
                "embedded_texts": report.embedded_texts,
                "new_chunks": report.new_chunks,
                "reused_chunks": report.reused_chunks,
                "removed_chunks": report.removed_chunks,
            })

        # Full builds: everything re-embedded and rewritten.
        full = []
        corpus = load_corpus(corpus_dir)
        for _ in range(full_repeats):
            embedder.reset()
            t0 = time.perf_counter()
            report = components.builder.build(corpus, full=True)
            seconds = time.perf_counter() - t0
            full.append({
                "seconds": round(seconds, 2),
                "embed_seconds": round(embedder.seconds, 2),
                "write_seconds": round(seconds - embedder.seconds, 2),
                "chunks": report.chunks,
                "sentences": report.sentences,
                "faq_questions": report.faq_questions,
                "embedded_texts": report.embedded_texts,
                "chunks_per_s": round(report.chunks / seconds, 1),
                "texts_per_s": round(report.embedded_texts / seconds, 1),
                "embedded_texts_per_embed_s": round(report.embedded_texts / max(embedder.seconds, 1e-9), 1),
            })

    inc_total = summary([r["total_ms"] for r in incremental])
    full_s = summary([r["seconds"] * 1000 for r in full])
    chunks = full[0]["chunks"] if full else n_chunks
    return {
        "corpus": str(corpus_src),
        "documents": n_docs,
        "chunks": chunks,
        "embedded_texts_per_full_build": full[0]["embedded_texts"] if full else 0,
        "full_build": {
            "runs": full,
            "seconds": {k.replace("_ms", "_s"): (round(v / 1000, 2) if k.endswith("_ms") else v) for k, v in full_s.items()},
            "median_chunks_per_s": round(chunks / (full_s["median_ms"] / 1000), 1) if full else None,
            "median_texts_per_s": round(full[0]["embedded_texts"] / (full_s["median_ms"] / 1000), 1) if full else None,
        },
        "incremental": {"runs": incremental, "total": inc_total, "build": summary([r["build_ms"] for r in incremental])},
        "no_change_check": summary(check_ms),
        "target": "incremental rebuild after one changed document <= 5 s",
        "met": bool(incremental) and inc_total["median_ms"] <= 5000 and inc_total["p95_ms"] <= 5000,
        "load_average_start": started_load,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-repeats", type=int, default=3, help="full rebuilds to time")
    parser.add_argument("--edits", type=int, default=5, help="incremental rebuilds, one edited document each")
    parser.add_argument("--corpus", type=Path, default=REAL_CORPUS)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    result = run(args.corpus, args.full_repeats, args.edits, args.cache)
    path = write_result("index_build", result, args.out)
    fb, inc = result["full_build"], result["incremental"]["total"]
    if fb["runs"]:
        print(f"full build of {result['chunks']} chunks: median {fb['seconds'].get('median_s')} s "
              f"({fb['median_chunks_per_s']} chunks/s, {fb['median_texts_per_s']} embedded texts/s)")
    print(f"incremental rebuild (1 of {result['documents']} documents changed): median {inc['median_ms']:.0f} ms, "
          f"p95 {inc['p95_ms']:.0f} ms (target <= 5 s: {'met' if result['met'] else 'MISSED'})")
    print(f"no-change check: median {result['no_change_check']['median_ms']:.0f} ms -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
