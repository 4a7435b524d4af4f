"""`kratom-bot eval`: run the evaluation suite, write the reports, exit non-zero when a gate fails."""

from __future__ import annotations

import sys
from pathlib import Path

from ..settings import PROJECT_ROOT

DEFAULT_CASES = Path("tests/eval/cases.jsonl")
DEFAULT_GATES = (Path("tests/eval/gates.toml"), Path("tests/eval/gates.yaml"), Path("tests/eval/gates.yml"))
DEFAULT_LABELS = Path("tests/eval/groundedness_labels.jsonl")
DEFAULT_CALIBRATION = Path("tests/eval/groundedness_calibration.json")
DEFAULT_REPORT_DIR = Path("eval-report")


def register(sub) -> None:
    """Add the `eval` subcommand to the CLI."""
    p = sub.add_parser(
        "eval",
        help="run the evaluation suite and write reports",
        description=(
            "Play evaluation cases through the bot (the same code path as `replay`), score them offline "
            "and deterministically, write report.json, report.md and report.html, and exit 1 when a gate fails."
        ),
    )
    p.add_argument("--cases", nargs="+", metavar="FILE", help=f"case files (JSONL; default {DEFAULT_CASES})")
    p.add_argument("--report", metavar="DIR", default=str(DEFAULT_REPORT_DIR), help="folder for the reports (default ./eval-report)")
    p.add_argument(
        "--fail-under-config", metavar="FILE", dest="gates",
        help="gate thresholds, TOML or YAML (default tests/eval/gates.toml)",
    )
    p.add_argument("--compare", metavar="FILE", help="a previous report.json to compare with")
    p.add_argument("--generator", choices=("extractive", "llm"), help="answer generator (overrides KRATOMBOT_GENERATOR)")
    p.add_argument(
        "--local-llm", action="store_true",
        help="with --generator llm: serve the packaged SmolLM2 (the [llm] extra) on a free loopback port for this run",
    )
    p.add_argument(
        "--no-baseline", action="store_true",
        help="with --generator llm: skip the extractive run that the side-by-side comparison (generators.md) needs",
    )
    p.add_argument("--labels", metavar="FILE", help=f"hand-labelled groundedness pairs (default {DEFAULT_LABELS})")
    p.add_argument("--category", action="append", metavar="NAME", help="only cases of this category (repeatable)")
    p.add_argument("--calibrate", action="store_true", help="only calibrate groundedness on the labels and print the rule")
    p.add_argument(
        "--calibration-out", metavar="FILE",
        help="with --calibrate, also write the calibration as JSON (e.g. tests/eval/groundedness_calibration.json)",
    )
    p.set_defaults(func=cmd_eval)


def _default(path: Path) -> Path:
    """A repository-relative default: from the current folder if it exists there, else from the checkout."""
    return path if path.exists() else PROJECT_ROOT / path


def _default_gates() -> Path:
    for candidate in DEFAULT_GATES:
        found = _default(candidate)
        if found.exists():
            return found
    return _default(DEFAULT_GATES[0])


def _progress(i: int, n: int, case) -> None:
    if i == 1 or i == n or i % 25 == 0:
        print(f"[{i}/{n}] {case.id}", file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    """Run the suite; 0 when every gate passes, 1 when one fails (2 for unusable input)."""
    if getattr(args, "local_llm", False):
        from ..generation.local_server import LocalLlamaServer

        print("starting the packaged SmolLM2 on loopback (llama-cpp-python server)…", file=sys.stderr)
        with LocalLlamaServer(log_path=Path(args.report) / "llama-server.log") as server:
            return _cmd_eval(args, {"generator": "llm", "llm_base_url": server.base_url, "llm_model": server.alias})
    return _cmd_eval(args, {})


def _cmd_eval(args, llm_overrides: dict) -> int:
    from ..errors import BotError
    from ..settings import load_settings

    overrides = {"generator": args.generator} if args.generator else {}
    overrides.update(llm_overrides)
    settings = load_settings(**overrides)
    labels_path = Path(args.labels) if args.labels else _default(DEFAULT_LABELS)
    if args.calibrate:
        return _calibrate_only(settings, labels_path, args.calibration_out)

    from ..corpus import load_corpus
    from ..wiring import load_chatbot
    from .cases import CATEGORIES, check_gold_sources, load_cases
    from .gates import load_gates
    from .report import build_report, load_report, write_reports
    from .runner import run_suite

    # Check every input file before the (slow) bot is built.
    case_paths = [Path(p) for p in args.cases] if args.cases else [_default(DEFAULT_CASES)]
    cases = load_cases(case_paths)
    if args.category:
        unknown = [c for c in args.category if c not in CATEGORIES]
        if unknown:
            raise BotError(f"unknown category {unknown[0]!r}; categories: {', '.join(CATEGORIES)}")
        cases = [c for c in cases if c.category in args.category]
        if not cases:
            raise BotError(f"no cases of categories {', '.join(args.category)} in {', '.join(map(str, case_paths))}")
    gates = load_gates(Path(args.gates) if args.gates else _default_gates())
    previous = load_report(args.compare) if args.compare else None
    corpus = load_corpus(settings.corpus_dir)
    check_gold_sources(cases, [d.id for d in corpus.documents])

    chatbot = load_chatbot(settings)
    meta = {
        "generator": settings.generator,
        **_llm_meta(settings),
        "embedding_model": settings.embedding_model,
        "top_k": settings.top_k,
        "hybrid": settings.hybrid,
    }
    print(f"evaluating {len(cases)} case(s) from {', '.join(map(str, case_paths))}", file=sys.stderr)
    # The committed calibration is used when it matches the labels and the model; a custom
    # --labels file is always calibrated afresh.
    pinned = None if args.labels else _default(DEFAULT_CALIBRATION)
    run = run_suite(
        chatbot, cases, corpus=corpus, prompts=chatbot.prompts, labels_path=labels_path, calibration_path=pinned,
        gates=gates, meta=meta, progress=_progress,
    )
    report = build_report(run, previous)
    paths = write_reports(report, args.report)
    print(render_console(report))
    print(f"reports: {paths['html']} · {paths['md']} · {paths['json']}")
    if settings.generator == "llm" and not getattr(args, "no_baseline", False):
        _compare_with_extractive(args, settings, chatbot, cases, corpus, labels_path, pinned, gates, meta, run)
    for g in run.failed_gates:
        print(f"gate failed: {g.describe()}", file=sys.stderr)
    return 0 if run.passed else 1


def _llm_meta(settings) -> dict:
    if settings.generator != "llm":
        return {}
    from ..generation.chat import public_url

    return {"llm_model": settings.llm_model, "llm_endpoint": public_url(settings.llm_base_url)}


def _compare_with_extractive(args, settings, chatbot, cases, corpus, labels_path, pinned, gates, meta, llm_run) -> None:
    """Run the same cases with the extractive default and write generators.md/.json side by side."""
    import json

    from ..generation.compare import compare_runs, comparison_console, comparison_markdown
    from ..wiring import load_chatbot
    from .report import build_report, write_reports
    from .runner import run_suite

    print("running the extractive baseline for the comparison…", file=sys.stderr)
    baseline = load_chatbot(settings.model_copy(update={"generator": "extractive"}), embedder=chatbot.embedder)
    base_meta = {k: v for k, v in meta.items() if not k.startswith("llm_")} | {"generator": "extractive"}
    base_run = run_suite(
        baseline, cases, corpus=corpus, prompts=baseline.prompts, labels_path=labels_path, calibration_path=pinned,
        gates=gates, meta=base_meta, progress=_progress,
    )
    write_reports(build_report(base_run), Path(args.report) / "extractive")
    comparison = compare_runs({"extractive": base_run, "llm": llm_run})
    out = Path(args.report)
    (out / "generators.json").write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
    (out / "generators.md").write_text(
        f"# Extractive vs llm ({meta.get('llm_model')} at {meta.get('llm_endpoint')})\n\n" + comparison_markdown(comparison),
        encoding="utf-8",
    )
    print(comparison_console(comparison))
    print(f"comparison: {out / 'generators.md'} · {out / 'generators.json'}")


def render_console(report: dict) -> str:
    """A short plain-text summary for the terminal."""
    from .report import summary_rows

    rows = summary_rows(report)
    width = max(len(r[0]) for r in rows)
    lines = [f"{'metric':<{width}}  {'value':>8}  {'counted':>13}  gate"]
    for name, value, counted, gate in rows:
        lines.append(f"{name:<{width}}  {value:>8}  {counted:>13}  {gate}")
    failing = sum(1 for c in report["cases"] if not c["passed"])
    lines.append(f"{failing} of {len(report['cases'])} case(s) failing; result: {'PASS' if report['passed'] else 'FAIL'}")
    comp = report.get("comparison")
    if comp:
        if comp["newly_failing"]:
            lines.append(f"newly failing since the previous report: {', '.join(comp['newly_failing'])}")
        if comp["fixed"]:
            lines.append(f"fixed since the previous report: {', '.join(comp['fixed'])}")
    return "\n".join(lines)


def _calibrate_only(settings, labels_path: Path, out: str | None = None) -> int:
    import json

    from ..embedding import make_embedder
    from .groundedness import calibrate_file

    embedder = make_embedder(settings.embedding_model, settings.embedding_batch_size)
    calibration, pairs, supports = calibrate_file(labels_path, embedder.embed, getattr(embedder, "name", ""))
    print(calibration.describe())
    wrong = [(p, s) for p, s in zip(pairs, supports) if calibration.supported(s) != p.supported]
    for pair, support in wrong:
        print(
            f"  misjudged {pair.id} (line {pair.line}, labelled {'supported' if pair.supported else 'unsupported'}; "
            f"{calibration.why(support)}): {pair.sentence}"
        )
    if out:
        Path(out).write_text(json.dumps(calibration.to_json_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0
