"""Render bench/RESULTS.md tables and the bench/RESULTS.png plot from the result files.

Usage: .venv/bin/python bench/report.py [--results bench/results] [--md bench/RESULTS.md] [--png bench/RESULTS.png]

Only the part of RESULTS.md between the ``<!-- generated:start -->`` and
``<!-- generated:end -->`` markers is rewritten; the notes around it are kept. A
benchmark that has not been run is reported as such.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, read_result  # noqa: E402

START, END = "<!-- generated:start -->", "<!-- generated:end -->"


def _ms(s: dict | None, key: str = "median_ms", digits: int = 1) -> str:
    if not s or s.get(key) is None:
        return "–"
    return f"{s[key]:,.{digits}f}"


def _yes(met) -> str:
    return "–" if met is None else ("**met**" if met else "**missed**")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _load_dir(folder: Path, pattern: str) -> list[dict]:
    out = []
    for path in sorted(folder.glob(pattern)):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    return out


# -- sections --------------------------------------------------------------------------


def machine_section(results: dict) -> str:
    any_result = next((r for r in results.values() if r), None)
    if not any_result:
        return "No benchmark has been run yet.\n"
    m = any_result["machine"]
    dates = sorted({r["date"] for r in results.values() if r})
    loads = {name: (r.get("load_average_start"), r.get("load_average_end")) for name, r in results.items() if r}
    rows = [[name, _fmt_load(a), _fmt_load(b)] for name, (a, b) in loads.items()]
    return (
        f"Measured on {', '.join(dates)}: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, "
        f"Python {m['python']}, {m['platform']}. The cores were shared with other engineers' test runs and "
        "builds while these ran; the load averages below show how much (2.0 means both cores busy). Ratios "
        "measured within one run (reply/floor, reply/baseline, before/after pairs run alternately) are "
        "more trustworthy than absolute milliseconds.\n\n"
        + _table(["benchmark", "load average at start (1/5/15 min)", "at end"], rows) + "\n"
    )


def _fmt_load(values) -> str:
    return " / ".join(f"{v:.1f}" for v in values) if values else "–"


def targets_section(results: dict) -> str:
    reply, guard, scale, index, conc = (results.get(k) for k in ("reply_latency", "guard_latency", "scale", "index_build", "concurrency"))
    rows = []
    if reply:
        rows.append(["warm reply ≤ 3× the floor (median)",
                     f"{reply['ratio_reply_to_floor']}× ({_ms(reply['reply'])} ms / {_ms(reply['floor'])} ms)", _yes(reply["met"])])
    else:
        rows.append(["warm reply ≤ 3× the floor (median)", "not run", "–"])
    if guard:
        g = guard["guard_per_turn"]
        rows.append(["input guard ≤ 10 ms median", f"{_ms(g, digits=2)} ms median, p95 {_ms(g, 'p95_ms', 2)} ms (n={g['n']})",
                      _yes(g["median_ms"] <= 10)])
    else:
        rows.append(["input guard ≤ 10 ms median", "not run", "–"])
    if scale:
        big = max(scale["levels"], key=lambda lv: lv["build"]["chunks"]) if scale["levels"] else None
        if big and big["build"]["chunks"] >= 100_000:
            q = big["query"]
            rows.append(["100k-chunk query p95 ≤ 50 ms",
                         f"retrieval p95 {_ms(q['retrieve'], 'p95_ms')} ms (Chroma top-k alone p95 {_ms(q['topk'], 'p95_ms')} ms) "
                         f"at {big['build']['chunks']:,} chunks", _yes(scale["met"])])
        else:
            rows.append(["100k-chunk query p95 ≤ 50 ms", "largest size measured is below 100k", "–"])
    else:
        rows.append(["100k-chunk query p95 ≤ 50 ms", "not run", "–"])
    if index:
        inc = index["incremental"]["total"]
        rows.append(["incremental rebuild after 1 changed document ≤ 5 s",
                     f"median {inc['median_ms'] / 1000:.2f} s, p95 {inc['p95_ms'] / 1000:.2f} s (n={inc['n']}, "
                     f"1 of {index['documents']} documents)", _yes(index["met"])])
    else:
        rows.append(["incremental rebuild after 1 changed document ≤ 5 s", "not run", "–"])
    if conc:
        t = conc["targets"]["users_32"]
        lv = next((lv for lv in conc["levels"] if lv["users"] == 32), None)
        rows.append(["32 concurrent users: zero errors, p95 ≤ 2 s",
                     f"{t['errors']} errors in {lv['latency']['n']} messages, p95 {_ms({'p': t['p95_ms']}, 'p', 0)} ms "
                     f"({lv['throughput_msg_s']} msg/s)" if lv else "32 users not measured", _yes(t["met"])])
        r = conc["targets"]["rss"]
        rows.append(["app RSS ≤ 1.5 GB", f"peak {r['peak_mib']:,.0f} MiB while serving (idle {conc['rss_idle_mib']:,.0f} MiB)",
                     _yes(r["met"])])
    else:
        rows += [["32 concurrent users: zero errors, p95 ≤ 2 s", "not run", "–"], ["app RSS ≤ 1.5 GB", "not run", "–"]]
    return _table(["target", "measured", ""], rows) + "\n"


def reply_section(reply: dict | None, guard: dict | None) -> str:
    if not reply:
        return "Not run (`bench/reply_latency.py`).\n"
    rows = [[stage, s["covers"], _ms(s, digits=2), _ms(s, "p95_ms", 2), s["n"], f"{s['share_of_total']:.0%}"]
            for stage, s in reply["stages"].items()]
    out = (
        f"{reply['questions']} questions × {reply['repeats']} passes on the real corpus; every question is embedded "
        "anew (no cache hit). Stages that run only for some replies show their own n (the FAQ match runs for "
        "questions that may get a curated answer; retrieval and composition when none matched).\n\n"
        + _table(["stage", "covers", "median ms", "p95 ms", "n", "share of total time"], rows)
        + "\n\n"
        + _table(
            ["path", "median ms", "p95 ms", "vs floor (median)"],
            [
                ["warm reply (`Chatbot.reply`)", _ms(reply["reply"]), _ms(reply["reply"], "p95_ms"), f"{reply['ratio_reply_to_floor']}×"],
                ["floor: 1 query embedding + 1 Chroma top-k", _ms(reply["floor"]), _ms(reply["floor"], "p95_ms"), "1×"],
                ["naive baseline: langchain `similarity_search` + concatenation", _ms(reply["baseline_langchain"]),
                 _ms(reply["baseline_langchain"], "p95_ms"), f"{reply['ratio_baseline_to_floor']}×"],
            ],
        )
        + f"\n\nPer question, reply/floor has median {reply['ratio_reply_to_floor_per_question']['median']}× and p95 "
        f"{reply['ratio_reply_to_floor_per_question']['p95']}×; the reply costs {reply['ratio_reply_to_baseline']}× the "
        "naive baseline, which has no guard, no FAQ, no composition, no citations and no warnings. By answer source:\n\n"
        + _table(["answer source", "n", "median ms", "p95 ms"],
                 [[k, v["n"], _ms(v), _ms(v, "p95_ms")] for k, v in reply["reply_by_answer_source"].items()])
        + "\n"
    )
    if guard:
        g, e = guard["guard_per_turn"], guard["query_embedding"]
        out += (
            f"\n`bench/guard_latency.py` (the input guard alone, {g['n']} turns of 10 conversations): median "
            f"{_ms(g, digits=2)} ms, p95 {_ms(g, 'p95_ms', 2)} ms, beyond the query embedding it shares with retrieval "
            f"(median {_ms(e)} ms in that run).\n"
        )
    return out


def cold_section(cold: dict | None) -> str:
    if not cold:
        return "Not run (`bench/cold_start.py`).\n"
    labels = {
        "library_index_built": "`load_chatbot()` + 1 reply, index built",
        "library_index_build": "`load_chatbot()` + 1 reply, index built first",
        "app_index_built": "`python app.py` → first answer over HTTP, index built",
        "app_index_build": "`python app.py` → first answer over HTTP, index built first",
    }
    rows = []
    for name, r in cold["scenarios"].items():
        runs = r["runs"]
        detail = ""
        if "load_chatbot_s" in runs[0]:
            detail = (f"imports {statistics.median(x['imports_s'] for x in runs):.1f} s, load_chatbot "
                      f"{statistics.median(x['load_chatbot_s'] for x in runs):.1f} s")
        elif "ready_s" in runs[0]:
            detail = f"/healthz after {statistics.median(x['ready_s'] for x in runs):.1f} s"
        rows.append([labels.get(name, name), r["total_s"]["n"], f"{r['total_s']['median']:.1f}", f"{r['total_s']['p95']:.1f}",
                     _ms(r["first_reply_ms"], digits=0), detail])
    return _table(["scenario", "runs", "median s", "p95 s", "first reply ms", "where the time goes (median)"], rows) + "\n"


def index_section(index: dict | None) -> str:
    if not index:
        return "Not run (`bench/index_build.py`).\n"
    fb = index["full_build"]
    runs = fb["runs"]
    rows = [[f"full build ({fb['seconds']['n']} runs)", f"{fb['seconds'].get('median_s', '–')} s",
             f"{fb['median_chunks_per_s']} chunks/s; {fb['median_texts_per_s']} embedded texts/s "
             f"({index['embedded_texts_per_full_build']:,} texts: chunks, sentences, FAQ); embedding "
             f"{statistics.median(r['embed_seconds'] for r in runs):.1f} s, writing {statistics.median(r['write_seconds'] for r in runs):.1f} s"
             if runs else ""]]
    inc = index["incremental"]
    r0 = inc["runs"]
    rows.append([f"incremental, 1 of {index['documents']} documents edited ({inc['total']['n']} runs)",
                 f"{inc['total']['median_ms'] / 1000:.2f} s (p95 {inc['total']['p95_ms'] / 1000:.2f} s)",
                 f"re-embedded {statistics.median(r['embedded_texts'] for r in r0):.0f} texts; loading the corpus "
                 f"{statistics.median(r['load_corpus_ms'] for r in r0):.0f} ms, build {statistics.median(r['build_ms'] for r in r0):.0f} ms "
                 f"(of which embedding {statistics.median(r['embed_ms'] for r in r0):.0f} ms)"])
    rows.append(["no change (freshness check only)", f"{_ms(index['no_change_check'], digits=0)} ms", ""])
    return f"Real corpus: {index['documents']} documents, {index['chunks']} chunks.\n\n" + _table(["build", "time", "detail"], rows) + "\n"


def scale_section(scale: dict | None) -> str:
    if not scale:
        return "Not run (`bench/scale.py`).\n"
    c = scale["composition_check"]
    rows = []
    prev = None
    for lv in scale["levels"]:
        b, q = lv["build"], lv["query"]
        growth = ""
        if prev:
            f = b["chunks"] / prev["build"]["chunks"]
            growth = (f"×{f:.0f} chunks: build ×{b['build_s'] / prev['build']['build_s']:.1f}, disk ×{b['disk_mib'] / prev['build']['disk_mib']:.1f}, "
                      f"retrieval p95 ×{q['retrieve']['p95_ms'] / prev['query']['retrieve']['p95_ms']:.1f}")
        rows.append([f"{b['chunks']:,}", f"{b['documents']:,}", f"{b['sentences']:,}", f"{b['build_s']:,.1f}", f"{b['records_per_s']:,.0f}",
                     f"{b['disk_mib']:,.0f}", f"{b['peak_rss_mib']:,.0f}", f"{q['rss_end_mib']:,.0f}", f"{q['index_rss_mib']:,.0f}",
                     f"{_ms(q['topk'])} / {_ms(q['topk'], 'p95_ms')}", f"{_ms(q['retrieve'])} / {_ms(q['retrieve'], 'p95_ms')}",
                     f"{_ms(q['reply'])} / {_ms(q['reply'], 'p95_ms')}", growth])
        prev = lv
    return (
        f"Embeddings: {scale['embedding_method']}. On the real corpus the composed chunk vectors have median cosine "
        f"{c['median_cosine']} (5th percentile {c['p5_cosine']}) with the model's true chunk embeddings.\n\n"
        + _table(["chunks", "documents", "sentences", "build s", "records/s written", "disk MiB", "build peak RSS MiB",
                  "query process RSS MiB", "of which index MiB", "Chroma top-k p50 / p95 ms", "retrieval p50 / p95 ms",
                  "warm reply p50 / p95 ms", "growth vs previous size"], rows)
        + "\n"
    )


def concurrency_section(conc: dict | None) -> str:
    if not conc:
        return "Not run (`bench/concurrency.py`).\n"
    rows = [[lv["users"], lv["latency"]["n"], lv["throughput_msg_s"], _ms(lv["latency"], digits=0), _ms(lv["latency"], "p95_ms", 0),
             _ms(lv["first_text"], digits=0), lv["errors"], lv["server_cpu_cores"], f"{lv['peak_rss_mib']:,.0f}"]
            for lv in conc["levels"]]
    runs = conc["levels"][0]["runs"] if conc["levels"] else []
    sessions = 1 + sum(lv["users"] * len(lv["runs"]) for lv in conc["levels"])
    turns = 3 + sum(lv["latency"]["n"] for lv in conc["levels"])
    growth = (conc["rss_peak_mib"] - conc["rss_after_warmup_mib"]) / max(1, sessions - 1)
    return (
        f"{conc['app']}; {conc['client']}; each visitor sends {conc['levels'][0]['messages_per_user'] if conc['levels'] else '–'} "
        f"messages; {len(runs)} runs per level (latencies pooled, throughput the median run). Torch threads: "
        f"{conc['torch_threads']}. The app took {conc['startup_s']} s to answer /healthz.\n\n"
        + _table(["users", "messages", "msg/s", "p50 ms", "p95 ms", "first text p50 ms", "errors", "server CPU (cores)",
                  "peak RSS MiB"], rows)
        + f"\n\nMemory: RSS {conc['rss_idle_mib']:,.0f} MiB idle after start-up, {conc['rss_after_warmup_mib']:,.0f} MiB after the "
        f"first conversation, peak {conc['rss_peak_mib']:,.0f} MiB while serving (app process and children, sampled every 0.1 s). "
        f"The app keeps each visitor's conversation in memory (Gradio session state, 12-hour time to live): over the "
        f"{sessions:,} sessions and {turns:,} messages of this run RSS grew by about {growth * 1024:,.0f} KiB per "
        f"{turns // max(1, sessions):.0f}-message session.\n"
    )


def hotspot_section(folder: Path) -> str:
    if not folder.is_dir():
        return "No before/after measurements yet.\n"
    rows = []

    def pair(pattern_before: str, pattern_after: str, extract):
        before = [extract(d) for d in _load_dir(folder, pattern_before)]
        after = [extract(d) for d in _load_dir(folder, pattern_after)]
        before, after = [x for x in before if x], [x for x in after if x]
        return before, after

    def med(values, i):
        return statistics.median(v[i] for v in values)

    b, a = pair("index-before-*/index_build.json", "index-after-*/index_build.json",
                lambda d: (d["incremental"]["total"]["median_ms"], statistics.median(r["load_corpus_ms"] for r in d["incremental"]["runs"]),
                           d["no_change_check"]["median_ms"]))
    if b and a:
        rows.append(["incremental rebuild (real corpus)", "`bot/indexing.py` `_faq_answer_records`, `bot/corpus.py` YAML",
                     f"{med(b, 0):,.0f} ms (corpus load {med(b, 1):,.0f} ms, no-change check {med(b, 2):,.0f} ms)",
                     f"{med(a, 0):,.0f} ms (corpus load {med(a, 1):,.0f} ms, no-change check {med(a, 2):,.0f} ms)", f"{len(b)}+{len(a)}"])
    b, a = pair("scale100k-before-*.json", "scale100k-after-*.json",
                lambda d: (d["retrieve"]["median_ms"], d["retrieve"]["p95_ms"], d["reply_stages"].get("compose", {}).get("median_ms", 0),
                           d["reply"]["median_ms"]))
    if b and a:
        rows.append(["retrieval and composition at 100k chunks", "`bot/store.py` `Build.count`, `bot/compose.py` sentence fetch",
                     f"retrieval {med(b, 0):.1f} / p95 {med(b, 1):.1f} ms; compose {med(b, 2):.1f} ms; reply {med(b, 3):.0f} ms",
                     f"retrieval {med(a, 0):.1f} / p95 {med(a, 1):.1f} ms; compose {med(a, 2):.1f} ms; reply {med(a, 3):.0f} ms",
                     f"{len(b)}+{len(a)}"])

    def conc(d):
        lv = next((lv for lv in d["levels"] if lv["users"] == 32), None)
        return (lv["throughput_msg_s"], lv["latency"]["median_ms"], lv["latency"]["p95_ms"], lv["server_cpu_cores"]) if lv else None

    b, a = pair("concurrency-before-*.json", "concurrency-web-after-*.json", conc)
    if b and a:
        rows.append(["32 concurrent users", "`bot/web/visitor.py` streaming updates",
                     f"{med(b, 0):.1f} msg/s, p50 {med(b, 1):,.0f} ms, p95 {med(b, 2):,.0f} ms",
                     f"{med(a, 0):.1f} msg/s, p50 {med(a, 1):,.0f} ms, p95 {med(a, 2):,.0f} ms", f"{len(b)}+{len(a)}"])
    b2, a2 = pair("concurrency-before-*.json", "concurrency-web2-after-*.json", conc)
    if b2 and a2:
        rows.append(["32 concurrent users", "the same, plus at most one streamed update per 100 ms",
                     f"{med(b2, 0):.1f} msg/s, p50 {med(b2, 1):,.0f} ms, p95 {med(b2, 2):,.0f} ms",
                     f"{med(a2, 0):.1f} msg/s, p50 {med(a2, 1):,.0f} ms, p95 {med(a2, 2):,.0f} ms", f"{len(b2)}+{len(a2)}"])
    b3, a3 = pair("concurrency-guard-html-before-*.json", "concurrency-guard-html-after-*.json", conc)
    if b3 and a3:
        rows.append(["32 concurrent users, after the fixes above",
                     "`bot/web/render.py` a prepared nh3 `Cleaner`; `bot/guard/input.py` earlier turns' rule matches memoised",
                     f"{med(b3, 0):.1f} msg/s, p50 {med(b3, 1):,.0f} ms, p95 {med(b3, 2):,.0f} ms",
                     f"{med(a3, 0):.1f} msg/s, p50 {med(a3, 1):,.0f} ms, p95 {med(a3, 2):,.0f} ms", f"{len(b3)}+{len(a3)}"])
    t = [conc(d) for d in _load_dir(folder, "concurrency-torch1.json")]
    if b and t and t[0]:
        rows.append(["32 concurrent users, OMP_NUM_THREADS=1", "app environment",
                     f"{med(b, 0):.1f} msg/s, p95 {med(b, 2):,.0f} ms", f"{t[0][0]:.1f} msg/s, p95 {t[0][2]:,.0f} ms", f"{len(b)}+1"])
    if not rows:
        return "No before/after measurements yet.\n"
    return _table(["what", "where", "before (median of runs)", "after", "runs"], rows) + "\n"


# -- plot --------------------------------------------------------------------------------


def plot(results: dict, png: Path) -> bool:
    scale, conc = results.get("scale"), results.get("concurrency")
    if not scale and not conc:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax_q, ax_b, ax_c = axes
    if scale and scale["levels"]:
        sizes = [lv["build"]["chunks"] for lv in scale["levels"]]
        for key, label, color in (("topk", "Chroma top-k", "tab:gray"), ("retrieve", "retrieval", "tab:blue"), ("reply", "warm reply", "tab:orange")):
            ax_q.plot(sizes, [lv["query"][key]["median_ms"] for lv in scale["levels"]], "o-", color=color, label=f"{label} p50")
            ax_q.plot(sizes, [lv["query"][key]["p95_ms"] for lv in scale["levels"]], "o--", color=color, alpha=0.6, label=f"{label} p95")
        ax_q.axhline(50, color="red", lw=0.8, ls=":", label="target: 100k p95 50 ms")
        ax_q.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="ms", title="Query latency vs corpus size")
        ax_q.legend(fontsize=7)
        ax_b.plot(sizes, [lv["build"]["build_s"] for lv in scale["levels"]], "o-", color="tab:green", label="build time (s)")
        ax_b.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="seconds", title="Index build vs corpus size")
        ax_d = ax_b.twinx()
        ax_d.plot(sizes, [lv["build"]["disk_mib"] for lv in scale["levels"]], "s--", color="tab:purple", label="disk (MiB)")
        ax_d.set(yscale="log", ylabel="MiB on disk")
        lines = ax_b.get_lines() + ax_d.get_lines()
        ax_b.legend(lines, [ln.get_label() for ln in lines], fontsize=7, loc="upper left")
    else:
        for ax in (ax_q, ax_b):
            ax.text(0.5, 0.5, "bench/scale.py not run", ha="center", transform=ax.transAxes)
    if conc and conc["levels"]:
        users = [lv["users"] for lv in conc["levels"]]
        ax_c.plot(users, [lv["latency"]["median_ms"] / 1000 for lv in conc["levels"]], "o-", label="p50 latency")
        ax_c.plot(users, [lv["latency"]["p95_ms"] / 1000 for lv in conc["levels"]], "o--", label="p95 latency")
        ax_c.axhline(2, color="red", lw=0.8, ls=":", label="target: p95 2 s at 32 users")
        ax_c.set(xscale="log", xlabel="concurrent users", ylabel="seconds", title="Latency vs concurrency (app over HTTP)")
        ax_c.set_xticks(users, [str(u) for u in users])
        ax_t = ax_c.twinx()
        ax_t.plot(users, [lv["throughput_msg_s"] for lv in conc["levels"]], "s:", color="tab:green", label="messages/s")
        ax_t.set(ylabel="messages/s")
        lines = ax_c.get_lines() + ax_t.get_lines()
        ax_c.legend(lines, [ln.get_label() for ln in lines], fontsize=7, loc="upper left")
    else:
        ax_c.text(0.5, 0.5, "bench/concurrency.py not run", ha="center", transform=ax_c.transAxes)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return True


# -- document ------------------------------------------------------------------------------


def render(results_dir: Path, png_name: str) -> str:
    names = ("guard_latency", "reply_latency", "cold_start", "index_build", "scale", "concurrency")
    results = {n: read_result(n, results_dir) for n in names}
    parts = [
        "## Machine and date\n", machine_section(results),
        "\n## Targets\n", targets_section(results),
        f"\n![Query latency and build time against corpus size; latency against concurrent users]({png_name})\n",
        "\n## Warm reply: stages, floor and naive baseline (`bench/reply_latency.py`)\n",
        reply_section(results["reply_latency"], results["guard_latency"]),
        "\n## Cold start (`bench/cold_start.py`)\n", cold_section(results["cold_start"]),
        "\n## Index build (`bench/index_build.py`)\n", index_section(results["index_build"]),
        "\n## Scale: 1k, 10k, 100k chunks (`bench/scale.py`)\n", scale_section(results["scale"]),
        "\n## Concurrency and memory (`bench/concurrency.py`)\n", concurrency_section(results["concurrency"]),
        "\n## Hot spots: before and after (`bench/results/hotspots/`)\n", hotspot_section(results_dir / "hotspots"),
    ]
    return "".join(parts)


def write_markdown(md: Path, body: str) -> None:
    """Replace the generated block of ``md`` (or create the file with one)."""
    block = f"{START}\n{body.rstrip()}\n{END}"
    if md.exists():
        text = md.read_text(encoding="utf-8")
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = f"# Benchmark results\n\nGenerated by `bench/report.py` from `bench/results/`.\n\n{block}\n"
    md.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--md", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--png", type=Path, default=ROOT / "bench" / "RESULTS.png")
    args = parser.parse_args(argv)
    names = ("guard_latency", "reply_latency", "cold_start", "index_build", "scale", "concurrency")
    results = {n: read_result(n, args.results) for n in names}
    plotted = plot(results, args.png)
    write_markdown(args.md, render(args.results, args.png.name))
    print(f"wrote {args.md}" + (f" and {args.png}" if plotted else " (no plot: scale and concurrency not run)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
