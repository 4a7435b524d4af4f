"""How build time, disk, memory and query latency grow with the corpus: 1k, 10k and 100k chunks.

Usage: .venv/bin/python bench/scale.py [--sizes 1000 10000 100000] [--repeats 3] [--work DIR] [--out DIR]

For each size, ``bench/synth_corpus.py`` writes a corpus of real documents plus filler
recombined from real sentences; then, each in a fresh process so that memory is its own:

* **build**: ``IndexBuilder.build`` (the app's own indexing: chunking, the three Chroma
  collections of chunks, sentences and FAQ, the atomic switch), timed with its peak RSS and
  the size of the build folder on disk;
* **query**: the app's chatbot opens that index and answers the benchmark questions:
  a raw Chroma top-k query (the floor, with a precomputed query embedding), the app's
  retrieval (``Retriever.retrieve``, precomputed embedding) and the whole warm reply
  (with its own query embedding); RSS before and after opening the index.

Embeddings. Embedding 100k chunks and ~300k sentences with the real model would take
hours on two cores, and what grows with the corpus is Chroma's work, not the model's.
So every *sentence* vector is the real model's embedding of that real sentence, taken
from the index of the real corpus (every filler sentence is a real sentence), and a
*chunk* vector is composed as the normalised mean of the real embeddings of the pieces
of its embedded text (title, heading, sentences). The script checks the composition on
the real corpus, whose true chunk embeddings are known, and reports their cosine.
Question embeddings at query time come from the real model.

Writes bench/results/scale.json. Target: retrieval p95 <= 50 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot  # noqa: F401,E402  (offline environment)
from _common import (  # noqa: E402
    QUESTIONS, REAL_CORPUS, active_build_dir, bench_settings, child_env, copy_state, dir_size, load_average, mib,
    peak_rss_self, percentile, prepared_state, summary, write_result,
)

SCRIPT = Path(__file__).resolve()


# -- composed embeddings -------------------------------------------------------------------


class ComposedEmbedder:
    """Embeddings from a table of real sentence vectors; longer texts get the mean of their pieces.

    A text found in the table gets its real vector. Any other text is split into
    sentences; each piece is looked up (pieces the table lacks are embedded once by the
    real model and counted), and the text's vector is their normalised mean.
    """

    def __init__(self, table: dict[str, np.ndarray], name: str, dim: int, model=None):
        self.table = table
        self.name = name
        self.dim = dim
        self.model = model  # a real embedder for missing pieces, built on first need
        self.looked_up = 0
        self.composed = 0
        self.embedded_pieces = 0
        self.seconds = 0.0

    def _real(self):
        if self.model is None:
            from bot.embedding import make_embedder

            self.model = make_embedder(self.name)
        return self.model

    def embed(self, texts):
        from bot.text import split_sentences

        t0 = time.perf_counter()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pieces_of: dict[int, list[str]] = {}
        missing: dict[str, None] = {}
        for i, text in enumerate(texts):
            vec = self.table.get(text)
            if vec is not None:
                out[i] = vec
                self.looked_up += 1
                continue
            pieces = split_sentences(text) or [text]
            pieces_of[i] = pieces
            missing.update((p, None) for p in pieces if p not in self.table)
        if missing:
            pending = list(missing)
            for piece, vec in zip(pending, self._real().embed(pending)):
                self.table[piece] = np.asarray(vec, dtype=np.float32)
            self.embedded_pieces += len(pending)
        for i, pieces in pieces_of.items():
            mean = np.mean([self.table[p] for p in pieces], axis=0)
            norm = float(np.linalg.norm(mean))
            out[i] = mean / norm if norm else mean
            self.composed += 1
        self.seconds += time.perf_counter() - t0
        return out


def save_table(template: Path, dest: Path) -> dict:
    """Real vectors of every sentence, FAQ phrasing and FAQ answer sentence of a prepared index, as .npz."""
    from bot.store import EmbeddedLayout

    build = EmbeddedLayout(Path(template) / "index").active()
    texts, vectors = [], []
    for kind in ("sentences", "faq"):
        for rec in build.iter_all(kind, embeddings=True):
            if kind == "faq" and rec.metadata.get("kind") not in ("question", "answer_sentence"):
                continue
            texts.append(rec.text)
            vectors.append(rec.embedding)
    chunks = [(rec.text, rec.metadata, rec.embedding) for rec in build.iter_all("chunks", embeddings=True)]
    save_vectors(dict(zip(texts, vectors)), dest)
    return {"texts": texts, "vectors": vectors, "chunks": chunks}


def load_table(path: Path) -> dict[str, np.ndarray]:
    data = np.load(path, allow_pickle=True)
    return {str(t): v for t, v in zip(data["texts"], data["vectors"])}


def cover_pieces(corpus_dir: Path, embedder: "ComposedEmbedder", chunk_max_chars: int) -> int:
    """Embed (with the real model, once) every piece of a corpus's chunk texts that the table lacks.

    Those are title and heading pieces, and the odd sentence that splits differently once
    recombined; doing it here keeps the model out of the build process, whose memory is
    measured. Returns how many pieces were embedded.
    """
    from bot.chunking import Chunker, embedding_text
    from bot.corpus import load_corpus

    before = embedder.embedded_pieces
    chunker = Chunker(chunk_max_chars)
    chunks = [(doc, c) for doc in load_corpus(corpus_dir).documents for c in chunker.split(doc)]
    # Chunk texts, and the chunks' own sentences: a recombined paragraph can split into
    # sentences slightly differently from the real ones it was made of.
    texts = [embedding_text(doc.title, c) for doc, c in chunks]
    texts += list(dict.fromkeys(s for _, c in chunks for s in c.sentences if s not in embedder.table))
    for start in range(0, len(texts), 5000):
        embedder.embed(texts[start : start + 5000])
    return embedder.embedded_pieces - before


def save_vectors(table: dict[str, np.ndarray], dest: Path) -> None:
    np.savez(dest, texts=np.array(list(table), dtype=object), vectors=np.stack(list(table.values())).astype(np.float32))


def check_composition(saved: dict, corpus_dir: Path, embedder: ComposedEmbedder, chunk_max_chars: int) -> dict:
    """Cosine between composed and true chunk embeddings on the real corpus (the true ones are known)."""
    from bot.chunking import Chunker, embedding_text
    from bot.corpus import load_corpus

    corpus = load_corpus(corpus_dir)
    chunker = Chunker(chunk_max_chars)
    true = {}
    for text, meta, vec in saved["chunks"]:
        true[(meta.get("doc_id"), text)] = vec
    pairs = []
    for doc in corpus.documents:
        for chunk in chunker.split(doc):
            vec = true.get((doc.id, chunk.text))
            if vec is not None:
                pairs.append((embedding_text(doc.title, chunk), vec))
    composed = embedder.embed([t for t, _ in pairs])
    cosines = [float(np.dot(c, v)) for c, (_, v) in zip(composed, pairs)]
    return {
        "chunks": len(cosines),
        "median_cosine": round(statistics.median(cosines), 4) if cosines else None,
        "p5_cosine": round(percentile(cosines, 5), 4) if cosines else None,
        "min_cosine": round(min(cosines), 4) if cosines else None,
    }


# -- children ------------------------------------------------------------------------------


def child_build(corpus_dir: Path, state: Path, table_path: Path) -> dict:
    """Build the index of a corpus with composed embeddings; report time, size and peak memory."""
    import psutil

    from bot.chunking import Chunker
    from bot.corpus import load_corpus
    from bot.indexing import IndexBuilder
    from bot.store import make_layout

    settings = bench_settings(corpus_dir, state)
    rss_start = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    corpus = load_corpus(corpus_dir)
    t1 = time.perf_counter()
    rss_corpus = psutil.Process().memory_info().rss
    embedder = ComposedEmbedder(load_table(table_path), settings.embedding_model, 384)
    builder = IndexBuilder(make_layout(settings), embedder, Chunker(settings.chunk_max_chars))
    t2 = time.perf_counter()
    report = builder.build(corpus, full=True)
    t3 = time.perf_counter()
    build_dir = active_build_dir(state)
    records = report.chunks + report.sentences + builder.layout.active().count("faq")
    return {
        "documents": len(corpus.documents),
        "chunks": report.chunks,
        "sentences": report.sentences,
        "records": records,
        "load_corpus_s": round(t1 - t0, 2),
        "build_s": round(t3 - t2, 2),
        "compose_embeddings_s": round(embedder.seconds, 2),
        "index_write_s": round(t3 - t2 - embedder.seconds, 2),
        "chunks_per_s": round(report.chunks / (t3 - t2), 1),
        "records_per_s": round(records / (t3 - t2 - embedder.seconds), 1),
        "embedded_by_model": embedder.embedded_pieces,
        "composed_vectors": embedder.composed,
        "disk_mib": mib(dir_size(build_dir)),
        "rss_start_mib": mib(rss_start),
        "rss_corpus_loaded_mib": mib(rss_corpus),
        "rss_end_mib": mib(psutil.Process().memory_info().rss),
        "peak_rss_mib": mib(peak_rss_self()),
    }


def child_query(corpus_dir: Path, state: Path, repeats: int, questions: list[str]) -> dict:
    """Open the index in the app's chatbot and time the floor, retrieval and whole replies."""
    import chromadb
    import psutil

    from bot.store import _chroma_settings  # the same client settings as the app (Chroma insists)
    from bot.wiring import load_chatbot
    from reply_latency import uncached_embedder

    proc = psutil.Process()
    settings = bench_settings(corpus_dir, state)
    rss_start = proc.memory_info().rss
    embedder = uncached_embedder(settings)
    chatbot = load_chatbot(settings, embedder=embedder, build_index=False)
    rss_model = proc.memory_info().rss
    t0 = time.perf_counter()
    build = chatbot.index.current()
    first = chatbot.reply(questions[0])
    open_first_ms = (time.perf_counter() - t0) * 1000
    rss_open = proc.memory_info().rss
    client = chromadb.PersistentClient(path=str(active_build_dir(state)), settings=_chroma_settings())
    chunks = client.get_collection("chunks", embedding_function=None)
    top_k = settings.top_k
    vecs = {q: embedder.embed([q])[0] for q in questions}

    def topk(q):
        chunks.query(query_embeddings=[vecs[q]], n_results=top_k, include=["documents", "metadatas", "distances"])

    def retrieve(q):
        chatbot.retriever.retrieve(build, vecs[q], q)

    def reply(q):
        return chatbot.reply(q)

    paths = {"topk": topk, "retrieve": retrieve, "reply": reply}
    for q in questions:
        for fn in paths.values():
            fn(q)
    samples: dict[str, list[float]] = {k: [] for k in paths}
    stages: dict[str, list[float]] = {}
    for rep in range(repeats):
        for q in questions:
            for name, fn in paths.items():
                t = time.perf_counter()
                out = fn(q)
                samples[name].append((time.perf_counter() - t) * 1000)
                if name == "reply":
                    for stage, ms in out.trace.get("timings_ms", {}).items():
                        if stage != "total":
                            stages.setdefault(stage, []).append(ms)
    return {
        "first_reply_answer_source": first.answer_source,
        "open_and_first_reply_ms": round(open_first_ms, 1),
        "topk": summary(samples["topk"]),
        "retrieve": summary(samples["retrieve"]),
        "reply": summary(samples["reply"]),
        "reply_stages": {k: summary(v) for k, v in stages.items()},
        "rss_start_mib": mib(rss_start),
        "rss_model_loaded_mib": mib(rss_model),
        "rss_index_open_mib": mib(rss_open),
        "rss_end_mib": mib(proc.memory_info().rss),
        "peak_rss_mib": mib(peak_rss_self()),
        "index_rss_mib": mib(proc.memory_info().rss - rss_model),
    }


def _run_child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", *args], env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {' '.join(args[:1])} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- parent --------------------------------------------------------------------------------


def run(source: Path, sizes: list[int], repeats: int, work: Path | None, cache: Path | None, keep: bool,
        questions: list[str]) -> dict:
    from synth_corpus import generate

    from bot.settings import Settings

    started_load = load_average()
    template = prepared_state(source, cache)
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    chunk_max_chars = Settings(corpus_dir=source).chunk_max_chars
    try:
        table_path = work / "vectors.npz"
        saved = save_table(template, table_path)
        table = load_table(table_path)
        composer = ComposedEmbedder(table, Settings().embedding_model, 384)
        check = check_composition(saved, source, composer, chunk_max_chars)
        save_vectors(table, table_path)
        levels = []
        for size in sizes:
            corpus_dir = work / f"corpus-{size}"
            state = work / f"state-{size}"
            info = generate(source, corpus_dir, size)
            if state.exists():
                shutil.rmtree(state)
            state.mkdir(parents=True)
            if (template / "guard").is_dir():  # the trained input guard, so the query process need not train it
                shutil.copytree(template / "guard", state / "guard")
            if cover_pieces(corpus_dir, composer, chunk_max_chars):
                save_vectors(table, table_path)
            print(f"[{size}] corpus: {info['chunks']} chunks in {info['real_documents'] + info['filler_documents']} documents",
                  file=sys.stderr)
            build = _run_child(["build", str(corpus_dir), str(state), str(table_path)])
            print(f"[{size}] build: {build['build_s']} s, {build['disk_mib']} MiB, peak RSS {build['peak_rss_mib']} MiB",
                  file=sys.stderr)
            query = _run_child(["query", str(corpus_dir), str(state), str(repeats), str(len(questions))])
            print(f"[{size}] retrieve p50 {query['retrieve']['median_ms']} ms p95 {query['retrieve']['p95_ms']} ms, "
                  f"RSS {query['rss_end_mib']} MiB", file=sys.stderr)
            levels.append({"target_chunks": size, "generate_s": info["seconds"], "filler_documents": info["filler_documents"],
                           "build": build, "query": query})
            if not keep:
                shutil.rmtree(state, ignore_errors=True)
                shutil.rmtree(corpus_dir, ignore_errors=True)
    finally:
        if own_work and not keep:
            shutil.rmtree(work, ignore_errors=True)

    largest = max(levels, key=lambda lv: lv["build"]["chunks"]) if levels else None
    at_100k = largest if largest and largest["build"]["chunks"] >= 100_000 else None
    return {
        "source_corpus": str(source),
        "questions": len(questions),
        "repeats": repeats,
        "embedding_method": "sentence vectors: the real model's, from the real corpus's index; chunk vectors: normalised "
                            "mean of the real vectors of their title, heading and sentences; question vectors: real model",
        "composition_check": check,
        "levels": levels,
        "target": "retrieval p95 <= 50 ms at 100k chunks",
        "met": (at_100k["query"]["retrieve"]["p95_ms"] <= 50) if at_100k else None,
        "load_average_start": started_load,
    }


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        kind, corpus_dir, state = argv[1], Path(argv[2]), Path(argv[3])
        if kind == "build":
            result = child_build(corpus_dir, state, Path(argv[4]))
        else:
            result = child_query(corpus_dir, state, int(argv[4]), QUESTIONS[: int(argv[5])])
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000], help="chunk counts")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions at each size")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="use only the first N questions")
    parser.add_argument("--source", type=Path, default=REAL_CORPUS, help="the real corpus to recombine")
    parser.add_argument("--work", type=Path, default=None, help="folder for corpora and indexes (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora and indexes")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    result = run(args.source, sorted(args.sizes), args.repeats, args.work, args.cache, args.keep, QUESTIONS[: args.questions])
    path = write_result("scale", result, args.out)
    print(f"composition check on the real corpus: median cosine {result['composition_check']['median_cosine']}")
    print(f"{'chunks':>8} {'build s':>8} {'disk MiB':>9} {'RSS MiB':>8} {'top-k p50/p95':>15} {'retrieve p50/p95':>17} {'reply p50/p95':>15}")
    for lv in result["levels"]:
        b, q = lv["build"], lv["query"]
        print(f"{b['chunks']:>8} {b['build_s']:>8} {b['disk_mib']:>9} {q['rss_end_mib']:>8} "
              f"{q['topk']['median_ms']:>7.1f}/{q['topk']['p95_ms']:<7.1f} {q['retrieve']['median_ms']:>8.1f}/{q['retrieve']['p95_ms']:<8.1f} "
              f"{q['reply']['median_ms']:>7.1f}/{q['reply']['p95_ms']:<7.1f}")
    met = result["met"]
    print(f"target (retrieval p95 <= 50 ms at 100k): {'not measured' if met is None else 'met' if met else 'MISSED'} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
