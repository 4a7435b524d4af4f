"""Throughput, latency, errors and memory of the running web app under 1, 8, 32 and 64 concurrent visitors.

Usage: .venv/bin/python bench/concurrency.py [--users 1 8 32 64] [--messages 20] [--runs 3]
                                             [--torch-threads N] [--corpus corpus] [--out DIR]

Starts the app the way an operator does (``python app.py --port P``, with a temporary
data folder holding a prepared index), waits for ``/healthz``, then for each level N
starts N simulated visitors at once. Each visitor is its own browser session and sends
``--messages`` questions one after the other through the page's own HTTP protocol
(``bench/_appclient.py``: queue join plus the server-sent event stream), waiting for each
answer to finish streaming before sending the next, with no think time: a closed loop
that is harsher than people typing. The levels are run ``--runs`` times in turn.

Reported per level: messages/s, latency p50/p95 (send to complete answer) and to the
first streamed text, errors by kind, the server's CPU use and its peak RSS (app process
and children, sampled every 0.1 s); overall, the app's RSS idle and at its peak.
``--torch-threads`` sets OMP_NUM_THREADS for the app (default: as the app runs it).

Writes bench/results/concurrency.json (or concurrency-<label>.json with ``--label``).
Targets: 32 users with zero errors and p95 <= 2 s; app RSS <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    QUESTIONS, REAL_CORPUS, ROOT, RssSampler, child_env, copy_state, free_port, load_average, mib, prepared_state,
    summary, write_result,
)

RSS_TARGET_MIB = 1536


def start_app(corpus: Path, state: Path, log_path: Path, torch_threads: int | None, timeout: float = 300.0,
              app_dir: Path = ROOT):
    """Start ``python app.py`` on a free port; returns (process, base url, seconds until /healthz answered).

    ``app_dir`` is the checkout whose ``app.py`` and ``bot`` package run (a patched copy,
    to measure a change before and after).
    """
    import httpx

    port = free_port()
    extra = {"KRATOMBOT_DATA_DIR": str(state), "KRATOMBOT_CORPUS_DIR": str(corpus), "KRATOMBOT_LOG_LEVEL": "WARNING",
             "PYTHONPATH": str(app_dir)}
    if torch_threads:
        extra.update({"OMP_NUM_THREADS": str(torch_threads), "MKL_NUM_THREADS": str(torch_threads)})
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(app_dir) / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=str(app_dir), env=child_env(**extra), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} while starting; see {log_path}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            raise RuntimeError(f"the app did not answer /healthz within {timeout:.0f} s; see {log_path}")
        time.sleep(0.2)


def stop_app(proc: subprocess.Popen) -> None:
    """Stop the app gracefully (uvicorn handles SIGTERM), killing it if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def run_level(url: str, users: int, messages: int, questions: list[str]) -> tuple[list, float]:
    """N visitors at once, each sending ``messages`` questions in turn; returns (turns, wall seconds)."""
    import httpx

    from _appclient import Visitor, discover

    limits = httpx.Limits(max_connections=2 * users + 8, max_keepalive_connections=2 * users + 8)
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits) as http:
        endpoint = await discover(http, url)

        async def visitor(u: int):
            v = Visitor(http, url, endpoint)
            out = []
            for k in range(messages):
                out.append(await v.ask(questions[(u * 7 + k) % len(questions)]))
            return out

        t0 = time.perf_counter()
        results = await asyncio.gather(*(visitor(u) for u in range(users)))
        wall = time.perf_counter() - t0
    return [t for per_user in results for t in per_user], wall


def run(corpus: Path, levels: list[int], messages: int, runs: int, cache: Path | None, torch_threads: int | None,
        questions: list[str], app_dir: Path = ROOT) -> dict:
    import psutil

    template = prepared_state(corpus, cache)
    started_load = load_average()
    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="bench-conc-") as tmp:
        state = copy_state(template, Path(tmp) / "state")
        proc, url, startup_s = start_app(corpus, state, Path(tmp) / "app.log", torch_threads, app_dir=app_dir)
        server = psutil.Process(proc.pid)
        try:
            with RssSampler(proc.pid, interval=0.1) as sampler:
                time.sleep(1.0)
                idle_rss = sampler.last
                # One warm-up conversation: the first request pays for lazy start-up work.
                asyncio.run(run_level(url, 1, 3, questions))
                after_warmup = sampler.last
                per_level: dict[int, list[dict]] = {n: [] for n in levels}
                turns_by_level: dict[int, list] = {n: [] for n in levels}
                for r in range(runs):
                    for n in levels:
                        sampler.reset_peak()
                        cpu0, me0 = server.cpu_times(), me.cpu_times()
                        turns, wall = asyncio.run(run_level(url, n, messages, questions))
                        cpu1, me1 = server.cpu_times(), me.cpu_times()
                        ok = [t for t in turns if t.ok]
                        errors: dict[str, int] = {}
                        for t in turns:
                            if not t.ok:
                                errors[t.error] = errors.get(t.error, 0) + 1
                        server_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
                        client_cpu = (me1.user + me1.system) - (me0.user + me0.system)
                        lat = summary([t.latency_ms for t in turns])
                        per_level[n].append({
                            "run": r + 1,
                            "messages": len(turns),
                            "ok": len(ok),
                            "errors": errors,
                            "wall_s": round(wall, 2),
                            "throughput_msg_s": round(len(ok) / wall, 2),
                            "p50_ms": lat.get("median_ms"),
                            "p95_ms": lat.get("p95_ms"),
                            "server_cpu_cores": round(server_cpu / wall, 2),
                            "client_cpu_cores": round(client_cpu / wall, 2),
                            "peak_rss_mib": mib(sampler.peak),
                        })
                        turns_by_level[n].extend(turns)
                        print(f"run {r + 1} users {n:>3}: {len(ok)}/{len(turns)} ok, {len(ok) / wall:6.1f} msg/s, "
                              f"p50 {lat.get('median_ms', 0):7.0f} ms, p95 {lat.get('p95_ms', 0):7.0f} ms, "
                              f"RSS {mib(sampler.peak)} MiB", file=sys.stderr)
                        time.sleep(1.0)
            overall_peak = mib(sampler.max_seen)
        finally:
            stop_app(proc)

    results = []
    for n in levels:
        turns = turns_by_level[n]
        runs_n = per_level[n]
        errors: dict[str, int] = {}
        for rr in runs_n:
            for k, v in rr["errors"].items():
                errors[k] = errors.get(k, 0) + v
        results.append({
            "users": n,
            "messages_per_user": messages,
            "runs": runs_n,
            "throughput_msg_s": round(statistics.median(rr["throughput_msg_s"] for rr in runs_n), 2),
            "latency": summary([t.latency_ms for t in turns]),
            "first_text": summary([t.first_text_ms for t in turns if t.first_text_ms is not None]),
            "p95_ms_per_run_median": round(statistics.median(rr["p95_ms"] for rr in runs_n), 1),
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "server_cpu_cores": round(statistics.median(rr["server_cpu_cores"] for rr in runs_n), 2),
            "client_cpu_cores": round(statistics.median(rr["client_cpu_cores"] for rr in runs_n), 2),
            "peak_rss_mib": max(rr["peak_rss_mib"] for rr in runs_n),
        })
    at32 = next((lv for lv in results if lv["users"] == 32), None)
    return {
        "corpus": str(corpus),
        "app": "python app.py (uvicorn, Gradio queue) on loopback",
        "app_dir": str(app_dir),
        "torch_threads": torch_threads or "default",
        "client": "asyncio + httpx, the page's queue protocol, one session per visitor, no think time",
        "startup_s": round(startup_s, 2),
        "rss_idle_mib": mib(idle_rss),
        "rss_after_warmup_mib": mib(after_warmup),
        "rss_peak_mib": overall_peak,
        "levels": results,
        "targets": {
            "users_32": {
                "target": "32 concurrent users: zero errors and p95 <= 2 s",
                "errors": at32["errors"] if at32 else None,
                "p95_ms": at32["latency"].get("p95_ms") if at32 else None,
                "met": (at32["errors"] == 0 and at32["latency"]["p95_ms"] <= 2000) if at32 else None,
            },
            "rss": {
                "target": "app RSS <= 1.5 GB",
                "peak_mib": overall_peak,
                "met": overall_peak <= RSS_TARGET_MIB,
            },
        },
        "load_average_start": started_load,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8, 32, 64], help="concurrency levels")
    parser.add_argument("--messages", type=int, default=20, help="messages per visitor")
    parser.add_argument("--runs", type=int, default=3, help="passes over all levels")
    parser.add_argument("--torch-threads", type=int, default=None, help="OMP_NUM_THREADS for the app")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="use only the first N questions")
    parser.add_argument("--corpus", type=Path, default=REAL_CORPUS)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="checkout to run (e.g. a patched copy)")
    parser.add_argument("--label", default="", help="suffix for the result file, e.g. a variant's name")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    result = run(args.corpus, args.users, args.messages, args.runs, args.cache, args.torch_threads,
                 QUESTIONS[: args.questions], args.app_dir)
    name = f"concurrency-{args.label}" if args.label else "concurrency"
    path = write_result(name, result, args.out)
    print(f"app started in {result['startup_s']} s; RSS idle {result['rss_idle_mib']} MiB, peak {result['rss_peak_mib']} MiB")
    print(f"{'users':>5} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'first text p50':>15} {'errors':>7} {'RSS MiB':>8}")
    for lv in result["levels"]:
        print(f"{lv['users']:>5} {lv['throughput_msg_s']:>7} {lv['latency'].get('median_ms', 0):>8.0f} "
              f"{lv['latency'].get('p95_ms', 0):>8.0f} {lv['first_text'].get('median_ms', 0):>15.0f} "
              f"{lv['errors']:>7} {lv['peak_rss_mib']:>8}")
    t = result["targets"]
    for key in ("users_32", "rss"):
        met = t[key]["met"]
        print(f"target {t[key]['target']}: {'not measured' if met is None else 'met' if met else 'MISSED'}")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
