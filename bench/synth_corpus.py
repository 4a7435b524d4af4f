"""Generate a synthetic corpus of about N chunks from the real corpus, for scale benchmarks.

Usage: .venv/bin/python bench/synth_corpus.py --chunks 10000 --out DIR [--source corpus] [--seed 0]

The output is a normal corpus folder (``docs/*.md`` and ``faq/*.yaml``) that ``load_corpus``
and ``kratom-bot index`` accept:

* every real document and FAQ file is copied unchanged (so the FAQ's sources resolve and
  real questions still find their real passages);
* filler documents are added until the chunker yields at least N chunks. Each filler
  document takes the front matter of one real document (new id and URL, same title,
  organisation, dates and topics) and is made of that document's real section headings,
  each followed by paragraphs recombined from the real document's sentences: every
  paragraph has as many sentences as a randomly drawn real chunk, sampled without
  replacement and in a new order, and no paragraph occurs twice.

No text is paraphrased or invented, and there are no random strings: the filler reads
like the real corpus and has its vocabulary, sentence lengths and chunk sizes, which is
what retrieval cost depends on. Only sentences that the sentence splitter gives back
unchanged are used, so every filler sentence is a real corpus sentence after indexing
too (which ``bench/scale.py`` relies on to reuse real sentence embeddings).
A ``synth.json`` next to ``docs/`` records the source, seed and counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot  # noqa: F401,E402  (offline environment)
from _common import REAL_CORPUS  # noqa: E402


@dataclass(frozen=True)
class SourceDoc:
    """What filler documents borrow from one real document."""

    doc: object  # bot.schema.Document
    headings: tuple[tuple[str, ...], ...]  # real section heading paths
    sentences: tuple[str, ...]  # sentences that survive re-splitting unchanged


def _front_matter(doc, new_id: str, url: str) -> str:
    import yaml

    meta = {
        "id": new_id,
        "title": doc.title,
        "source_org": doc.source_org,
        "source_url": url,
        "published": doc.published.isoformat() if doc.published else "unknown",
        "reviewed": doc.reviewed.isoformat(),
        "evidence": doc.evidence,
        "topics": list(doc.topics),
    }
    if doc.accessed:
        meta["accessed"] = doc.accessed.isoformat()
    if doc.jurisdiction:
        meta["jurisdiction"] = doc.jurisdiction
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def _heading_lines(path: tuple[str, ...]) -> str:
    # The whole path each time: the header splitter then gives the section its real path.
    return "".join(f"{'#' * (level + 1)} {text}\n\n" for level, text in enumerate(path[:3]))


def sources(corpus, chunker) -> tuple[list[SourceDoc], list[int], int]:
    """Per real document: its headings and reusable sentences; also real sentences-per-chunk counts and chunk total."""
    from bot.text import split_sentences

    out, sizes, total = [], [], 0
    for doc in corpus.documents:
        chunks = chunker.split(doc)
        total += len(chunks)
        sizes += [len(c.sentences) for c in chunks if c.sentences]
        sentences = list(dict.fromkeys(
            s for c in chunks for s in c.sentences if split_sentences(s) == [s] and len(s.split()) >= 4
        ))
        headings = tuple(dict.fromkeys(c.heading_path for c in chunks if c.heading_path))
        if len(sentences) >= 4 and headings:
            out.append(SourceDoc(doc, headings, tuple(sentences)))
    return out, sizes, total


def generate(source: Path, out: Path, chunks: int, seed: int = 0, sections_per_doc: int = 12) -> dict:
    """Write a corpus of at least ``chunks`` chunks to ``out`` (replaced); returns its description."""
    from bot.chunking import Chunker
    from bot.corpus import load_corpus
    from bot.settings import Settings

    started = time.perf_counter()
    chunker = Chunker(Settings(corpus_dir=source).chunk_max_chars)
    corpus = load_corpus(source)
    donors, sizes, total = sources(corpus, chunker)
    if not donors:
        raise SystemExit(f"{source} has no document with enough sentences and headings to recombine")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(Path(source) / "docs", out / "docs")
    if (Path(source) / "faq").is_dir():
        shutil.copytree(Path(source) / "faq", out / "faq")

    rng = random.Random(seed)
    seen: set[str] = set()
    real_chunks, filler_docs, filler_chunks, n = total, 0, 0, 0
    while total < chunks:
        donor = donors[n % len(donors)]
        n += 1
        new_id = f"{donor.doc.id}-syn{n:06d}"[:80]
        parts = []
        for _ in range(sections_per_doc):
            parts.append(_heading_lines(rng.choice(donor.headings)))
            for _ in range(rng.randint(1, 4)):
                paragraph = None
                for _ in range(20):  # a recombination not used before
                    k = min(rng.choice(sizes), len(donor.sentences))
                    candidate = " ".join(rng.sample(donor.sentences, k))
                    digest = hashlib.sha1(candidate.encode()).hexdigest()
                    if digest not in seen:
                        seen.add(digest)
                        paragraph = candidate
                        break
                if paragraph:
                    parts.append(paragraph + "\n\n")
        body = "\n" + "".join(parts)
        doc = donor.doc.model_copy(update={"id": new_id, "body": body, "additional_sources": ()})
        count = len(chunker.split(doc))
        path = out / "docs" / f"{new_id}.md"
        path.write_text(_front_matter(donor.doc, new_id, f"{donor.doc.source_url}#synthetic-{n}") + body, encoding="utf-8")
        total += count
        filler_docs += 1
        filler_chunks += count
    info = {
        "source": str(source),
        "seed": seed,
        "target_chunks": chunks,
        "chunks": total,
        "real_documents": len(corpus.documents),
        "real_chunks": real_chunks,
        "filler_documents": filler_docs,
        "filler_chunks": filler_chunks,
        "faq_entries": len(corpus.faq),
        "method": "real documents and FAQ copied; filler documents recombine each real document's own sentences "
                  "under its real section headings (no paraphrase, no random strings)",
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "synth.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, required=True, help="at least this many chunks")
    parser.add_argument("--out", type=Path, required=True, help="corpus folder to write (replaced)")
    parser.add_argument("--source", type=Path, default=REAL_CORPUS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    info = generate(args.source, args.out, args.chunks, args.seed)
    print(f"{info['chunks']} chunks ({info['real_chunks']} real + {info['filler_chunks']} filler in "
          f"{info['filler_documents']} documents) in {args.out} ({info['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
