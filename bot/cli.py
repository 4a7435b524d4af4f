"""The ``kratom-bot`` command line. Errors are shown as one friendly line, never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import _offline  # noqa: F401
from .errors import BotError


def _settings():
    from .settings import load_settings

    return load_settings()


def cmd_index(args) -> int:
    from .corpus import load_corpus
    from .wiring import build_components, ensure_index

    settings = _settings()
    components = build_components(settings)
    corpus = load_corpus(settings.corpus_dir)
    if args.status:
        status = components.builder.status(corpus)
        data = {"state": status.state, "reason": status.reason, "manifest": status.manifest}
        if status.state != "fresh":
            server = settings.chroma_mode == "http"
            data["fix"] = "run `kratom-bot index --publish`" if server else "run `kratom-bot index --rebuild`"
        print(json.dumps(data, indent=2))
        return 0 if status.state == "fresh" else 1
    if args.publish:
        return _publish(components, corpus, full=args.rebuild)
    status, report = ensure_index(components, corpus, rebuild=args.rebuild)
    if report is None:
        print(f"index is up to date ({status.reason}) in the {components.builder.layout.describe()}")
    else:
        print(
            f"built index {report.version} in the {components.builder.layout.describe()}: {report.chunks} chunks, "
            f"{report.sentences} sentences, {report.faq_questions} FAQ phrasings; {report.new_chunks} new, "
            f"{report.reused_chunks} reused, {report.removed_chunks} removed; {report.embedded_texts} texts embedded "
            f"in {report.seconds:.1f}s"
        )
    return 0


def _publish(components, corpus, full: bool) -> int:
    """Build a new version (reusing unchanged embeddings unless ``full``), verify it, then switch the pointer."""
    layout = components.builder.layout
    try:
        previous = layout.active_marker()
    except BotError:  # a corrupt pointer is replaced by the publish
        previous = None
    report = components.builder.build(corpus, full=full)
    print(
        f"published index {report.version} to the {layout.describe()} (replacing {previous or 'nothing'}): "
        f"{report.chunks} chunks, {report.sentences} sentences, {report.faq_questions} FAQ phrasings; "
        f"{report.embedded_texts} texts embedded, {report.reused_chunks} chunks reused, in {report.seconds:.1f}s"
    )
    return 0


def cmd_ask(args) -> int:
    from .wiring import load_chatbot

    bot = load_chatbot(_settings())
    reply = bot.reply([{"role": "user", "content": args.question}])
    if args.json:
        data = reply.to_json_dict()
        if not args.trace:
            data.pop("trace", None)
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(render_plain(reply))
    return 0


def render_plain(reply) -> str:
    """A reply as readable terminal text."""
    lines = [reply.text, ""]
    if reply.citations:
        lines.append("Sources:")
        for c in reply.citations:
            lines.append(f"  [{c.n}] {c.title} — {c.source_org} ({c.published}) {c.url}")
        lines.append("")
    for w in reply.warnings:
        lines.append(f"! {w}")
    return "\n".join(lines).rstrip()


def cmd_replay(args) -> int:
    from .replay import read_conversations, replay_lines
    from .wiring import load_chatbot

    conversations = read_conversations(Path(args.cases))
    bot = load_chatbot(_settings())
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    errors = 0
    try:
        for line in replay_lines(bot, conversations):
            errors += "error" in line
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"replayed {len(conversations)} conversation(s) into {args.out}", file=sys.stderr)
    return 1 if errors else 0


def cmd_serve(args) -> int:
    from .web.app import serve

    settings = _settings()
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    serve(settings.model_copy(update=updates))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(prog="kratom-bot", description="A cautious, cited kratom information chatbot.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the search index")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything instead of reusing unchanged content")
    p.add_argument(
        "--publish", action="store_true",
        help="always build a new version (even if fresh), check it is complete, then switch the pointer to it atomically",
    )
    p.add_argument("--status", action="store_true", help="only report whether the index is fresh (exit 1 if not)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="ask one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Reply as JSON")
    p.add_argument("--trace", action="store_true", help="with --json, include the staff trace")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("replay", help="replay conversations from a JSONL file")
    p.add_argument("cases", help='JSONL with {"id": ..., "turns": [...]} per line')
    p.add_argument("--out", help="write replies here instead of standard output")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    from .corpus_check import register as register_corpus
    from .evaluation.cli import register as register_eval

    register_corpus(sub)
    register_eval(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except BotError as exc:
        print(f"kratom-bot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kratom-bot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
