"""Evaluation reports: ``report.json`` (machine-readable), ``report.md`` and a self-contained ``report.html``.

All three are rendered from the same JSON-ready dict, so a report can be re-rendered
from a saved ``report.json`` and compared with a previous one.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..errors import DataFileError
from ..schema import Reply
from .metrics import is_rate, label, lower_is_better
from .runner import SuiteRun

FORMAT = "kratom-bot-eval/1"

# Columns of the per-category table.
CATEGORY_COLUMNS = (
    "cases_passed",
    "dosing_withheld",
    "false_refusal",
    "emergency_referral",
    "coverage",
    "citation_validity",
    "groundedness",
    "recall_at_5",
    "latency_p50_ms",
)


def reply_summary(reply: Reply) -> dict:
    """The parts of a reply a reviewer needs (no passages, no trace)."""
    return {
        "text": reply.text,
        "citations": [{"n": c.n, "source_id": c.source_id, "title": c.title, "url": c.url} for c in reply.citations],
        "warnings": list(reply.warnings),
        "refused": reply.refused,
        "emergency": reply.emergency,
        "guard": {"label": reply.guard.label, "action": reply.guard.action, "language": reply.guard.language},
        "answer_source": reply.answer_source,
        "retrieved": list(dict.fromkeys(r.doc_id for r in reply.retrieved)),
        "latency_ms": reply.latency_ms,
    }


def build_report(run: SuiteRun, previous: dict | None = None) -> dict:
    """The report as a JSON-ready dict (optionally compared with a previous report)."""
    report = {
        "format": FORMAT,
        "passed": run.passed,
        "meta": run.meta,
        "gates": [g.to_json_dict() for g in run.gates],
        "calibration": run.calibration.to_json_dict() | {"rule": run.calibration.describe()},
        "overall": {k: m.to_json_dict() | {"label": label(k)} for k, m in run.overall.items()},
        "categories": {
            cat: {k: m.to_json_dict() for k, m in metrics.items()} | {"_cases": sum(1 for r in run.results if r.case.category == cat)}
            for cat, metrics in run.categories.items()
        },
        "cases": [
            {
                "id": r.case.id,
                "category": r.case.category,
                "file": str(r.case.path),
                "line": r.case.line,
                "passed": r.passed,
                "error": r.error,
                "failures": [{"metric": c.metric, "reason": c.reason} for c in r.failures],
                "checks": sorted({c.metric for c in r.checks}),
                "turns": list(r.case.turns),
                "expect": r.case.expect.to_json_dict(),
                "replies": [reply_summary(rep) for rep in r.replies],
                "unsupported_sentences": [
                    {"turn": s.turn, "sentence": s.sentence, "reason": s.reason, "score": s.score, "sources": list(s.source_ids)}
                    for s in r.sentences if not s.supported
                ],
                "seconds": round(r.seconds, 3),
            }
            for r in run.results
        ],
    }
    report["comparison"] = compare(previous, report) if previous is not None else None
    return report


def load_report(path: Path | str) -> dict:
    """Read a previous report.json; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileError(path, "previous report not found") from None
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise DataFileError(path, f"not an evaluation report (expected format {FORMAT!r}, found {found!r})")
    return data


def _direction(metric: str, before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "new" if before is None and after is not None else ("gone" if after is None and before is not None else "same")
    tolerance = 1e-9 if is_rate(metric) else 0.5
    if abs(after - before) <= tolerance:
        return "same"
    better = after < before if lower_is_better(metric) else after > before
    return "better" if better else "worse"


def compare(previous: dict, current: dict) -> dict:
    """What changed since a previous report: metrics, gates and cases."""
    metrics = {}
    for name in dict.fromkeys([*current["overall"], *previous.get("overall", {})]):
        before = previous.get("overall", {}).get(name, {}).get("value")
        after = current["overall"].get(name, {}).get("value")
        delta = None if before is None or after is None else round(after - before, 6)
        metrics[name] = {"before": before, "after": after, "delta": delta, "change": _direction(name, before, after)}
    categories = {}
    for cat in dict.fromkeys([*current["categories"], *previous.get("categories", {})]):
        rows = {}
        for name in CATEGORY_COLUMNS:
            before = previous.get("categories", {}).get(cat, {}).get(name, {}).get("value")
            after = current["categories"].get(cat, {}).get(name, {}).get("value")
            if before is not None or after is not None:
                rows[name] = {"before": before, "after": after, "change": _direction(name, before, after)}
        categories[cat] = rows
    prev_cases = {c["id"]: c for c in previous.get("cases", [])}
    cur_cases = {c["id"]: c for c in current["cases"]}
    prev_gates = {(g["metric"], g["kind"]): g for g in previous.get("gates", [])}
    gates = []
    for g in current["gates"]:
        old = prev_gates.get((g["metric"], g["kind"]))
        gates.append({
            "metric": g["metric"], "kind": g["kind"],
            "before": None if old is None else old["passed"], "after": g["passed"],
        })
    return {
        "previous_created": previous.get("meta", {}).get("created"),
        "previous_corpus_version": previous.get("meta", {}).get("corpus_version"),
        "previous_passed": previous.get("passed"),
        "metrics": metrics,
        "categories": categories,
        "gates": gates,
        "newly_failing": sorted(i for i, c in cur_cases.items() if not c["passed"] and prev_cases.get(i, {}).get("passed") is True),
        "fixed": sorted(i for i, c in cur_cases.items() if c["passed"] and prev_cases.get(i, {}).get("passed") is False),
        "still_failing": sorted(i for i, c in cur_cases.items() if not c["passed"] and prev_cases.get(i, {}).get("passed") is False),
        "added": sorted(set(cur_cases) - set(prev_cases)),
        "removed": sorted(set(prev_cases) - set(cur_cases)),
    }


# -- shared formatting ---------------------------------------------------------------------


def fmt(metric: str, value) -> str:
    """A metric value for display."""
    if value is None:
        return "—"
    if not is_rate(metric):
        return f"{value:.0f} ms"
    return f"{value:.1%}"


def fmt_delta(metric: str, delta) -> str:
    """A signed change for display."""
    if delta is None:
        return ""
    if not is_rate(metric):
        return f"{delta:+.0f} ms"
    return f"{delta * 100:+.1f} pts"


def _gate_for(report: dict, metric: str) -> str:
    texts = []
    for g in report["gates"]:
        if g["metric"] == metric:
            op = "≥" if g["kind"] == "min" else "≤"
            threshold = f"{round(g['threshold'] * 100, 4):g}%" if is_rate(metric) else f"{g['threshold']:g} ms"
            status = "not measured" if not g["measured"] else ("pass" if g["passed"] else "FAIL")
            texts.append(f"{op} {threshold} ({status})")
    return "; ".join(texts)


def summary_rows(report: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, m in report["overall"].items():
        counted = f"{m['num']:g}/{m['den']}" if is_rate(name) and m["value"] is not None else (f"{m['den']} replies" if m["value"] is not None else "")
        rows.append((m.get("label", label(name)), fmt(name, m["value"]), counted, _gate_for(report, name)))
    return rows


# -- Markdown --------------------------------------------------------------------------------


def _md(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(report: dict) -> str:
    """report.md: the same content as the HTML report, as Markdown."""
    meta = report["meta"]
    status = "PASS" if report["passed"] else "FAIL"
    failing = [c for c in report["cases"] if not c["passed"]]
    out = [
        "# kratom-bot evaluation report",
        "",
        f"**Result: {status}** — {meta.get('cases')} cases, {len(failing)} failing; created {meta.get('created')}; "
        f"corpus {meta.get('corpus_version') or 'unknown'}; generator {meta.get('generator', 'extractive')}; "
        f"{meta.get('seconds')} s.",
        "",
    ]
    if meta.get("unreviewed_stubs"):
        out += [f"Unreviewed case stubs (TODO notes): {', '.join(meta['unreviewed_stubs'])}", ""]
    if report["gates"]:
        out += ["## Gates", ""]
        out += [f"- {'➖' if not g['measured'] else '✅' if g['passed'] else '❌'} {g['text']}" for g in report["gates"]]
        out.append("")
    out += ["## Summary", "", "| metric | value | counted | gate |", "| --- | --- | --- | --- |"]
    out += [f"| {_md(a)} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(report)]
    out += ["", "## By category", ""]
    out.append("| category | cases | " + " | ".join(label(c) for c in CATEGORY_COLUMNS) + " |")
    out.append("| --- | --- |" + " --- |" * len(CATEGORY_COLUMNS))
    for cat, metrics in report["categories"].items():
        cells = [fmt(c, metrics.get(c, {}).get("value")) for c in CATEGORY_COLUMNS]
        out.append(f"| {cat} | {metrics.get('_cases', '')} | " + " | ".join(cells) + " |")
    comp = report.get("comparison")
    if comp:
        out += ["", "## Compared with the previous report", "",
                f"Previous report: {comp.get('previous_created')} (corpus {comp.get('previous_corpus_version')}, "
                f"{'passed' if comp.get('previous_passed') else 'failed'}).", "",
                "| metric | before | after | change |", "| --- | --- | --- | --- |"]
        for name, m in comp["metrics"].items():
            out.append(f"| {_md(label(name))} | {fmt(name, m['before'])} | {fmt(name, m['after'])} | {m['change']} {fmt_delta(name, m['delta'])} |")
        for key, title in (("newly_failing", "Newly failing"), ("fixed", "Fixed"), ("added", "New cases"), ("removed", "Removed cases")):
            if comp[key]:
                out += ["", f"**{title}:** {', '.join(comp[key])}"]
    out += ["", f"## Failing cases ({len(failing)})", ""]
    if not failing:
        out.append("None.")
    for c in failing:
        out += [f"### {c['id']} ({c['category']})", "", f"`{c['file']}`, line {c['line']}", ""]
        out += [f"- **{f['metric']}**: {_md(f['reason'])}" for f in c["failures"]]
        out.append("")
        for i, turn in enumerate(c["turns"]):
            out.append(f"**User {i + 1}:** {_md(turn)}")
            out.append("")
            if i < len(c["replies"]):
                rep = c["replies"][i]
                out.append(f"**Bot** (guard {rep['guard']['label']}/{rep['guard']['action']}, source {rep['answer_source']}, "
                           f"refused {str(rep['refused']).lower()}, emergency {str(rep['emergency']).lower()}):")
                out.append("")
                out += ["> " + line if line.strip() else ">" for line in rep["text"].splitlines()]
                out.append("")
                for cit in rep["citations"]:
                    out.append(f"- [{cit['n']}] {_md(cit['title'])} (`{cit['source_id']}`)")
                for w in rep["warnings"]:
                    out.append(f"- ⚠ {_md(w)}")
                out.append("")
        for s in c["unsupported_sentences"]:
            out.append(f"- unsupported (turn {s['turn']}): {_md(s['sentence'])} — {_md(s['reason'])}")
        out.append("")
    cal = report["calibration"]
    out += ["## Groundedness calibration", "", _md(cal["rule"]),
            f"Labels file sha256 {cal['labels_sha256'][:12]}…, embedder {cal['embedder'] or 'unknown'}; "
            f"{report['meta'].get('calibration', 'calibrated for this run')}.", ""]
    return "\n".join(out).rstrip() + "\n"


# -- HTML ------------------------------------------------------------------------------------

_CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; padding: 24px 32px; max-width: 1200px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0; display: inline; }
.meta { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.badge.pass { background: var(--ok); } .badge.fail { background: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass-text { color: var(--ok); font-weight: 600; } .fail-text { color: var(--bad); font-weight: 600; }
.better { color: var(--ok); } .worse { color: var(--bad); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 8px 12px; }
details[open] { background: #fff; }
summary { cursor: pointer; }
.reason { display: block; color: var(--bad); margin: 4px 0; }
.turn { margin: 10px 0; }
.user { font-weight: 600; }
.reply { white-space: pre-wrap; background: var(--bg); border-left: 3px solid var(--line); padding: 8px 12px; margin: 4px 0; }
.small { color: var(--muted); font-size: 13px; }
ul { margin: 4px 0; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def render_html(report: dict) -> str:
    """report.html: one self-contained page (inline CSS, no scripts, no external assets)."""
    meta = report["meta"]
    failing = [c for c in report["cases"] if not c["passed"]]
    status = "pass" if report["passed"] else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>kratom-bot evaluation — {'PASS' if report['passed'] else 'FAIL'}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1>kratom-bot evaluation <span class="badge {status}" id="result">{status.upper()}</span></h1>',
        f'<p class="meta">{_e(meta.get("cases"))} cases, {len(failing)} failing · created {_e(meta.get("created"))} · '
        f'corpus {_e(meta.get("corpus_version") or "unknown")} · generator {_e(meta.get("generator", "extractive"))} · '
        f'{_e(meta.get("seconds"))} s</p>',
    ]
    if meta.get("unreviewed_stubs"):
        parts.append(f'<p class="small">Unreviewed case stubs (TODO notes): {_e(", ".join(meta["unreviewed_stubs"]))}</p>')
    if report["gates"]:
        parts.append('<h2>Gates</h2><ul id="gates">')
        for g in report["gates"]:
            cls, word = ("small", "n/a") if not g["measured"] else ("pass-text", "pass") if g["passed"] else ("fail-text", "FAIL")
            parts.append(f'<li><span class="{cls}">{word}</span> {_e(g["text"])}</li>')
        parts.append("</ul>")
    parts.append('<h2>Summary</h2><table id="summary"><thead><tr><th>metric</th><th>value</th><th>counted</th><th>gate</th></tr></thead><tbody>')
    for name_label, value, counted, gate in summary_rows(report):
        cls = "fail-text" if "FAIL" in gate else ("pass-text" if "pass" in gate else "")
        parts.append(f'<tr><td>{_e(name_label)}</td><td class="num">{_e(value)}</td><td class="num">{_e(counted)}</td><td class="{cls}">{_e(gate)}</td></tr>')
    parts.append("</tbody></table>")
    parts.append('<h2>By category</h2><table id="categories"><thead><tr><th>category</th><th>cases</th>')
    parts += [f"<th>{_e(label(c))}</th>" for c in CATEGORY_COLUMNS]
    parts.append("</tr></thead><tbody>")
    for cat, metrics in report["categories"].items():
        cells = "".join(f'<td class="num">{_e(fmt(c, metrics.get(c, {}).get("value")))}</td>' for c in CATEGORY_COLUMNS)
        parts.append(f'<tr><td>{_e(cat)}</td><td class="num">{_e(metrics.get("_cases", ""))}</td>{cells}</tr>')
    parts.append("</tbody></table>")
    comp = report.get("comparison")
    if comp:
        parts.append('<h2>Compared with the previous report</h2>')
        parts.append(f'<p class="meta">Previous report {_e(comp.get("previous_created"))}, corpus {_e(comp.get("previous_corpus_version"))}, '
                     f'{"passed" if comp.get("previous_passed") else "failed"}.</p>')
        parts.append('<table id="comparison"><thead><tr><th>metric</th><th>before</th><th>after</th><th>change</th></tr></thead><tbody>')
        for name, m in comp["metrics"].items():
            cls = m["change"] if m["change"] in ("better", "worse") else ""
            parts.append(f'<tr><td>{_e(label(name))}</td><td class="num">{_e(fmt(name, m["before"]))}</td><td class="num">{_e(fmt(name, m["after"]))}</td>'
                         f'<td class="{cls}">{_e(m["change"])} {_e(fmt_delta(name, m["delta"]))}</td></tr>')
        parts.append("</tbody></table>")
        for key, title in (("newly_failing", "Newly failing"), ("fixed", "Fixed"), ("added", "New cases"), ("removed", "Removed cases")):
            if comp[key]:
                parts.append(f"<p><strong>{title}:</strong> {_e(', '.join(comp[key]))}</p>")
    parts.append(f'<h2>Failing cases ({len(failing)})</h2><section id="failing">')
    if not failing:
        parts.append("<p>None.</p>")
    for c in failing:
        parts.append(f'<details class="case" id="case-{_e(c["id"])}"><summary><h3>{_e(c["id"])}</h3> '
                     f'<span class="small">{_e(c["category"])} · {_e(c["file"])}, line {_e(c["line"])}</span>')
        parts += [f'<span class="reason"><strong>{_e(f["metric"])}</strong>: {_e(f["reason"])}</span>' for f in c["failures"]]
        parts.append("</summary>")
        for i, turn in enumerate(c["turns"]):
            parts.append(f'<div class="turn"><div class="user">User {i + 1}: {_e(turn)}</div>')
            if i < len(c["replies"]):
                rep = c["replies"][i]
                parts.append(f'<div class="small">guard {_e(rep["guard"]["label"])}/{_e(rep["guard"]["action"])} · source {_e(rep["answer_source"])} · '
                             f'refused {_e(str(rep["refused"]).lower())} · emergency {_e(str(rep["emergency"]).lower())} · {_e(round(rep["latency_ms"]))} ms</div>')
                parts.append(f'<div class="reply">{_e(rep["text"])}</div>')
                if rep["citations"] or rep["warnings"]:
                    parts.append("<ul>")
                    parts += [f'<li>[{c2["n"]}] {_e(c2["title"])} <span class="small">({_e(c2["source_id"])})</span></li>' for c2 in rep["citations"]]
                    parts += [f'<li class="small">⚠ {_e(w)}</li>' for w in rep["warnings"]]
                    parts.append("</ul>")
            parts.append("</div>")
        if c["unsupported_sentences"]:
            parts.append("<p><strong>Unsupported sentences</strong></p><ul>")
            parts += [f'<li>{_e(s["sentence"])} <span class="small">— {_e(s["reason"])}</span></li>' for s in c["unsupported_sentences"]]
            parts.append("</ul>")
        parts.append("</details>")
    parts.append("</section>")
    cal = report["calibration"]
    parts.append(f'<h2>Groundedness calibration</h2><p>{_e(cal["rule"])}</p>'
                 f'<p class="small">Labels sha256 {_e(cal["labels_sha256"][:12])}…, embedder {_e(cal["embedder"] or "unknown")}; '
                 f'{_e(meta.get("calibration", "calibrated for this run"))}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_reports(report: dict, directory: Path | str) -> dict[str, Path]:
    """Write report.json, report.md and report.html into a folder; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "report.json",
        "md": directory / "report.md",
        "html": directory / "report.html",
    }
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths
