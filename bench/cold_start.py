"""Cold start: from process start to the first reply, with the index already built and with an index build first.

Usage: .venv/bin/python bench/cold_start.py [--repeats 5] [--build-repeats 2] [--corpus corpus] [--out DIR]

Four scenarios, each a new Python process with a private copy of a prepared data folder:

* ``library_index_built``: ``import bot``, ``load_chatbot()``, one ``reply`` (what
  ``kratom-bot ask`` does), the index and trained guard already in the data folder;
* ``library_index_build``: the same with no index yet, so ``load_chatbot`` builds it first
  (the trained guard is kept: it depends on the guard data set, not on the corpus);
* ``app_index_built``: ``python app.py`` until it answers ``/healthz``, then one question
  through the page's HTTP protocol until the answer has streamed in;
* ``app_index_build``: the app with no index yet.

The first reply's own latency is reported too, so the start-up cost can be told apart
from a warm reply. The files are in the page cache after the first run: these are cold
*processes* on a warm disk, as after a restart of the service.

Writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REAL_CORPUS, child_env, copy_state, load_average, mib, prepared_state, rss_bytes, summary, write_result,
)

SCRIPT = Path(__file__).resolve()
QUESTION = "Can kratom damage the liver?"


def child(question: str) -> dict:
    """Runs in the measured process: import, build the chatbot from the environment's settings, answer once."""
    t0 = time.time()
    import bot  # noqa: F401
    from bot.settings import load_settings
    from bot.wiring import load_chatbot

    t_import = time.time()
    settings = load_settings()
    built = not (settings.resolved_index_dir / "ACTIVE.json").exists()
    chatbot = load_chatbot(settings)
    t_loaded = time.time()
    reply = chatbot.reply(question)
    t_reply = time.time()
    return {
        "t_python": t0, "t_import": t_import, "t_loaded": t_loaded, "t_reply": t_reply,
        "first_reply_ms": round((t_reply - t_loaded) * 1000, 1), "answer_source": reply.answer_source,
        "index_built_on_start": built,
    }


def state_for(template: Path, dest: Path, with_index: bool) -> Path:
    """A private data folder: the whole prepared one, or only its trained guard."""
    if with_index:
        return copy_state(template, dest)
    dest.mkdir(parents=True)
    if (template / "guard").is_dir():
        shutil.copytree(template / "guard", dest / "guard")
    return dest


def run_library(corpus: Path, state: Path) -> dict:
    env = child_env(KRATOMBOT_DATA_DIR=str(state), KRATOMBOT_CORPUS_DIR=str(corpus), KRATOMBOT_LOG_LEVEL="WARNING")
    wall0, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--child", QUESTION], env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    total = time.perf_counter() - t0
    proc.wait(timeout=60)
    if proc.returncode != 0 or not line.strip():
        raise RuntimeError(f"the measured process failed (exit code {proc.returncode})")
    out = json.loads(line)
    return {
        "total_s": round(total, 2),
        "interpreter_s": round(out["t_python"] - wall0, 2),
        "imports_s": round(out["t_import"] - out["t_python"], 2),
        "load_chatbot_s": round(out["t_loaded"] - out["t_import"], 2),
        "first_reply_ms": out["first_reply_ms"],
        "answer_source": out["answer_source"],
        "index_built_on_start": out["index_built_on_start"],
    }


def run_app(corpus: Path, state: Path, log_path: Path) -> dict:
    import httpx

    from _appclient import Visitor, discover
    from concurrency import start_app, stop_app

    t0 = time.perf_counter()
    proc, url, ready_s = start_app(corpus, state, log_path, None, timeout=900)
    try:
        async def ask():
            async with httpx.AsyncClient(timeout=120) as http:
                return await Visitor(http, url, await discover(http, url)).ask(QUESTION)

        turn = asyncio.run(ask())
        total = time.perf_counter() - t0
        rss = rss_bytes(proc.pid)
    finally:
        stop_app(proc)
    if not turn.ok:
        raise RuntimeError(f"the app's first answer failed ({turn.error}); see {log_path}")
    return {
        "total_s": round(total, 2),
        "ready_s": round(ready_s, 2),
        "first_reply_ms": round(turn.latency_ms, 1),
        "rss_after_first_reply_mib": mib(rss),
    }


SCENARIOS = {
    "library_index_built": ("library", True),
    "library_index_build": ("library", False),
    "app_index_built": ("app", True),
    "app_index_build": ("app", False),
}


def run(corpus: Path, repeats: int, build_repeats: int, cache: Path | None, only: list[str]) -> dict:
    template = prepared_state(corpus, cache)
    started_load = load_average()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        for name in only:
            kind, with_index = SCENARIOS[name]
            n = repeats if with_index else build_repeats
            if n <= 0:
                continue
            runs = []
            for i in range(n):
                state = state_for(template, Path(tmp) / f"{name}-{i}", with_index)
                if kind == "library":
                    runs.append(run_library(corpus, state))
                else:
                    runs.append(run_app(corpus, state, Path(tmp) / f"{name}-{i}.log"))
                shutil.rmtree(state, ignore_errors=True)
                print(f"{name} #{i + 1}: {runs[-1]['total_s']} s", file=sys.stderr)
            total = summary([r["total_s"] * 1000 for r in runs])
            results[name] = {
                "runs": runs,
                "total_s": {"n": total["n"], "median": round(total["median_ms"] / 1000, 2), "p95": round(total["p95_ms"] / 1000, 2)},
                "first_reply_ms": summary([r["first_reply_ms"] for r in runs]),
            }
    return {"corpus": str(corpus), "question": QUESTION, "scenarios": results, "load_average_start": started_load}


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        print(json.dumps(child(argv[1])), flush=True)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each scenario with the index built")
    parser.add_argument("--build-repeats", type=int, default=2, help="runs of each scenario that builds the index")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--corpus", type=Path, default=REAL_CORPUS)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    result = run(args.corpus, args.repeats, args.build_repeats, args.cache, args.scenarios)
    path = write_result("cold_start", result, args.out)
    for name, r in result["scenarios"].items():
        print(f"{name:<22} process start -> first reply: median {r['total_s']['median']} s, p95 {r['total_s']['p95']} s "
              f"(first reply itself {r['first_reply_ms'].get('median_ms')} ms)")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
