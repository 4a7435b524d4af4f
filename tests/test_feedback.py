"""The feedback store on SQLite and on a real PostgreSQL, through the same code.

PostgreSQL is started by the ``postgres_server`` fixture from Debian's binaries in a
throwaway cluster under tmp_path, on a free loopback port, and stopped afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from bot.feedback import (
    FeedbackError,
    FeedbackFilter,
    FeedbackRecord,
    FeedbackRecorder,
    FeedbackStore,
    clean_for_storage,
    open_feedback,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")


# -- PostgreSQL, started and stopped by the tests ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on a loopback port.

    PostgreSQL refuses to run as root. As root, the tools run in a user namespace that maps
    us to an ordinary uid, so the cluster can live in tmp_path (owned by root outside the
    namespace) without loosening any permissions. Where user namespaces are not allowed,
    they run as the ``postgres`` user in a private temporary folder instead.
    """

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.user = "kratombot"
        self.wrap: list[str] = []
        self.own_dir: Path | None = None

    @property
    def data(self) -> Path:
        return (self.own_dir or self.root) / "data"

    @property
    def socket_dir(self) -> Path:
        return self.own_dir or self.root

    def _run(self, args: list[str], timeout: int = 120) -> None:
        subprocess.run([*self.wrap, *args], check=True, capture_output=True, timeout=timeout)

    def _choose_wrapper(self) -> None:
        if os.geteuid() != 0:
            return
        probe = subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000", "true"], capture_output=True)
        if probe.returncode == 0:
            self.wrap = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
            return
        import pwd
        import tempfile

        pg = pwd.getpwnam("postgres")
        self.own_dir = Path(tempfile.mkdtemp(prefix="kratombot-pg-"))
        os.chown(self.own_dir, pg.pw_uid, pg.pw_gid)
        self.wrap = ["setpriv", f"--reuid={pg.pw_uid}", f"--regid={pg.pw_gid}", "--clear-groups"]

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._choose_wrapper()
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync"])
        self._run([
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.socket_dir / "server.log"), "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120",
            "start",
        ])

    def stop(self) -> None:
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], timeout=60)
        finally:
            if self.own_dir is not None:
                shutil.rmtree(self.own_dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """One PostgreSQL 15 cluster for the test session (skipped with a reason when the binaries are missing)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)")
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request, tmp_path):
    """A fresh, empty feedback database: a SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback' / 'feedback.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def store(db_url):
    s = FeedbackStore(db_url)
    yield s
    s.close()


def record(conv: str = "c1", index: int = 1, rating: str = "down", comment: str = "", **kw) -> FeedbackRecord:
    reply = kw.pop("reply", None) or {
        "text": "Liver injury has been reported [1].",
        "guard": {"label": "benign", "action": "answer", "score": 0.1, "reason": "", "layer": "rules"},
        "retrieved": [{"chunk_id": "liver-injury::abc", "doc_id": "liver-injury", "score": 0.8}],
        "refused": False,
        "emergency": False,
        "answer_source": "documents",
    }
    turns = kw.pop("turns", None) or (
        {"role": "user", "content": "Can kratom hurt the liver?"},
        {"role": "assistant", "content": reply["text"]},
    )
    return FeedbackRecord(
        conversation_id=conv, message_index=index, rating=rating, comment=comment, turns=turns, reply=reply,
        app_version="0.1.0", corpus_version="abc123", **kw,
    )


# -- the store -----------------------------------------------------------------------------------


def test_round_trip_keeps_everything_asked_for(store):
    fid = store.save(record(comment="Missing the source date"))
    row = store.get(fid)
    assert row.rating == "down" and row.comment == "Missing the source date"
    assert row.turns[0] == {"role": "user", "content": "Can kratom hurt the liver?"}
    assert row.reply["guard"]["label"] == "benign" and row.reply["retrieved"][0]["chunk_id"] == "liver-injury::abc"
    assert row.guard_label == "benign" and row.guard_action == "answer"
    assert row.app_version == "0.1.0" and row.corpus_version == "abc123"
    assert row.created_at.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - row.created_at).total_seconds()) < 120
    assert row.question == "Can kratom hurt the liver?"


def test_no_column_can_hold_an_ip_address_or_browser_identity(store):
    columns = {c.name for c in store.table.columns}
    assert not columns & {"ip", "ip_address", "client", "remote_addr", "user_agent", "session_hash", "host"}


def test_rating_the_same_answer_again_replaces_it(store):
    first = store.save(record(rating="down"))
    second = store.save(record(rating="up", comment="on second thought, fine"))
    assert first == second and store.count() == 1
    row = store.get(first)
    assert row.rating == "up" and row.comment == "on second thought, fine"


def test_remove_takes_a_rating_back(store):
    store.save(record())
    assert store.remove("c1", 1) is True
    assert store.count() == 0 and store.remove("c1", 1) is False


def test_find_puts_thumbs_down_first_and_filters(store):
    now = dt.datetime.now(dt.timezone.utc)
    store.save(record("a", 1, "up", created_at=now - dt.timedelta(minutes=1)))
    store.save(record("b", 1, "down", "wrong law", created_at=now - dt.timedelta(days=3)))
    store.save(record("c", 1, "up", "great", created_at=now))
    emergency_reply = {"text": "Call 911", "guard": {"label": "emergency", "action": "escalate"}, "emergency": True}
    store.save(record("d", 1, "down", reply=emergency_reply, created_at=now - dt.timedelta(days=40)))
    rows = store.find()
    assert [r.rating for r in rows] == ["down", "down", "up", "up"]
    assert [r.conversation_id for r in rows] == ["b", "d", "c", "a"]
    assert [r.conversation_id for r in store.find(FeedbackFilter(rating="up"))] == ["c", "a"]
    assert [r.conversation_id for r in store.find(FeedbackFilter(guard_label="emergency"))] == ["d"]
    assert [r.conversation_id for r in store.find(FeedbackFilter(with_comment=True))] == ["b", "c"]
    assert [r.conversation_id for r in store.find(FeedbackFilter(since=now - dt.timedelta(days=7)))] == ["b", "c", "a"]
    assert [r.conversation_id for r in store.find(FeedbackFilter(text="WRONG"))] == ["b"]
    assert store.find(FeedbackFilter(text="100%_")) == []  # LIKE wildcards are literal
    assert store.labels() == ["benign", "emergency"]
    assert store.count("down") == 2


def test_staff_review_marks(store):
    fid = store.save(record())
    store.set_review(fid, flagged=True, staff_note="add to eval set")
    row = store.get(fid)
    assert row.flagged and row.staff_note == "add to eval set"
    assert [r.id for r in store.find(FeedbackFilter(flagged_only=True))] == [fid]
    # A later visitor edit (comment) does not clear the staff's marks.
    store.save(record(comment="and more"))
    assert store.get(fid).flagged
    with pytest.raises(FeedbackError, match="#999 does not exist"):
        store.set_review(999, flagged=True)


def test_purge_deletes_only_rows_older_than_retention(store):
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)
    store.save(record("old", created_at=now - dt.timedelta(days=181)))
    store.save(record("edge", created_at=now - dt.timedelta(days=179, hours=23)))
    store.save(record("new", created_at=now - dt.timedelta(days=1)))
    assert store.purge(180, now=now) == 1
    assert sorted(r.conversation_id for r in store.find()) == ["edge", "new"]
    with pytest.raises(FeedbackError, match="at least 1 day"):
        store.purge(0)


def test_hostile_text_is_stored_without_loss_of_meaning(store):
    nasty = "NUL\x00 bell\x07 lone\ud800surrogate emoji 🙂 RTL שלום zalgo z̷̡̢ <script>alert(1)</script> **md** 50%_"
    fid = store.save(record(comment=nasty, turns=({"role": "user", "content": nasty},)))
    row = store.get(fid)
    for kept in ("emoji 🙂", "RTL שלום", "<script>alert(1)</script>", "**md**", "50%_", "z̷̡̢"):
        assert kept in row.comment and kept in row.turns[0]["content"]
    assert "\x00" not in row.comment and "\ud800" not in row.comment and "lone\ufffdsurrogate" in row.comment


def test_clean_for_storage():
    assert clean_for_storage("a\x00b\x1bc\td\ne") == "abc\td\ne"
    assert clean_for_storage("x\udfffy") == "x\ufffdy"
    assert clean_for_storage("e\u0301") == "\u00e9"  # NFC


def test_concurrent_threads_lose_no_rows(store):
    n_threads, per_thread = 8, 25
    errors: list[Exception] = []

    def writer(t: int) -> None:
        try:
            for i in range(per_thread):
                store.save(record(f"thread-{t}", i, "down" if i % 2 else "up", f"comment {i}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert store.count() == n_threads * per_thread
    keys = {(r.conversation_id, r.message_index) for r in store.find(FeedbackFilter(limit=5000))}
    assert len(keys) == n_threads * per_thread


def _process_writer(url: str, worker: int, count: int) -> None:
    s = FeedbackStore(url)
    for i in range(count):
        s.save(record(f"proc-{worker}", i, "down", f"from process {worker}"))
    s.close()


def test_concurrent_processes_lose_no_rows(db_url):
    FeedbackStore(db_url).close()  # schema first, as the app does at start-up
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(db_url, w, 30)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    s = FeedbackStore(db_url)
    try:
        assert s.count() == 120
        assert {r.conversation_id for r in s.find(FeedbackFilter(limit=5000))} == {f"proc-{w}" for w in range(4)}
    finally:
        s.close()


def test_two_processes_create_the_schema_at_once(db_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(db_url, w, 1)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    s = FeedbackStore(db_url)
    assert s.count() == 3
    s.close()


# -- SQLite specifics: WAL, durability, faults ----------------------------------------------------


def test_sqlite_uses_wal(tmp_path):
    s = FeedbackStore(f"sqlite:///{tmp_path / 'f.sqlite3'}")
    s.save(record())
    assert s.journal_mode() == "wal"
    assert (tmp_path / "f.sqlite3-wal").exists()


def test_sqlite_default_url_lives_in_the_data_dir(tmp_path):
    from bot.settings import Settings

    settings = Settings(data_dir=tmp_path / "state")
    s = FeedbackStore(settings.feedback_url)
    s.save(record())
    assert (tmp_path / "state" / "feedback.sqlite3").exists()


_KILL_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from tests.test_feedback import record
from bot.feedback import FeedbackStore
s = FeedbackStore({url!r})
fid = s.save(record("survivor", 3, "down", "saved just before the crash"))
print(fid, flush=True)
time.sleep(60)
"""


def test_a_committed_row_survives_kill_9(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.sqlite3'}"
    root = str(Path(__file__).resolve().parent.parent)
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD.format(root=root, url=url)], stdout=subprocess.PIPE, text=True)
    try:
        fid = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    s = FeedbackStore(url)
    row = s.get(fid)
    assert row is not None and row.comment == "saved just before the crash"


def test_disk_full_raises_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.sqlite3'}"
    s = FeedbackStore(url)
    s.save(record("before"))
    with s.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    import sqlalchemy as sa

    @sa.event.listens_for(s.engine, "connect")
    def _cap(dbapi_conn, _record):  # the database cannot grow: SQLite reports SQLITE_FULL
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    s.engine.dispose()
    with pytest.raises(FeedbackError, match="database or disk is full"):
        s.save(record("big", turns=({"role": "user", "content": "x" * 200_000},)))
    assert [r.conversation_id for r in s.find()] == ["before"]


def test_read_only_database_raises_a_clear_error(tmp_path):
    path = tmp_path / "f.sqlite3"
    FeedbackStore(f"sqlite:///{path}").save(record("before"))
    ro = FeedbackStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(FeedbackError, match="readonly|read-only|read only"):
        ro.save(record("after"))
    assert [r.conversation_id for r in ro.find()] == ["before"]  # reads still work


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB tmpfs (needs root and mount rights; skipped elsewhere)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_really_full_disk_raises_a_clear_error(tiny_disk):
    s = FeedbackStore(f"sqlite:///{tiny_disk / 'f.sqlite3'}")
    s.save(record("before"))
    (tiny_disk / "filler").write_bytes(b"\0" * 1024)
    with open(tiny_disk / "filler", "ab") as fh:  # fill whatever room is left
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    with pytest.raises(FeedbackError, match="full|disk I/O"):
        for i in range(50):
            s.save(record(f"c{i}", turns=({"role": "user", "content": "y" * 50_000},)))
    s.close()


def test_bad_urls_are_reported_clearly(tmp_path):
    with pytest.raises(FeedbackError, match="not valid"):
        FeedbackStore("not a url")
    with pytest.raises(FeedbackError, match="only sqlite and postgresql"):
        FeedbackStore("mysql://u@127.0.0.1/x")
    with pytest.raises(FeedbackError, match="cannot open feedback database"):
        FeedbackStore("postgresql+psycopg://nobody@127.0.0.1:1/none")


# -- the recorder the app writes through ----------------------------------------------------------


class _FlakyStore:
    """Fails while ``broken`` is set, like a full or read-only disk."""

    def __init__(self):
        self.rows: dict = {}
        self.broken = False

    def save(self, rec):
        if self.broken:
            raise FeedbackError("cannot write to feedback database sqlite:///x: database or disk is full")
        self.rows[rec.key] = rec
        return len(self.rows)

    def remove(self, conv, index):
        if self.broken:
            raise FeedbackError("cannot write to feedback database sqlite:///x: attempt to write a readonly database")
        return self.rows.pop((conv, index), None) is not None


def test_recorder_keeps_ratings_while_the_disk_fails_and_logs_once(caplog):
    flaky = _FlakyStore()
    rec = FeedbackRecorder(flaky)
    assert rec.submit(record("a")) is True
    flaky.broken = True
    with caplog.at_level(logging.WARNING, logger="bot.feedback"):
        for i in range(5):
            assert rec.submit(record(f"b{i}")) is False
        assert rec.retract("a", 1) is False
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and "database or disk is full" in failures[0].getMessage()
    assert not rec.healthy and rec.pending == 6
    flaky.broken = False
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.feedback"):
        assert rec.flush() is True
    assert rec.healthy and rec.pending == 0
    assert sorted(k[0] for k in flaky.rows) == [f"b{i}" for i in range(5)]  # "a" was retracted
    assert len([r for r in caplog.records if "work again" in r.getMessage()]) == 1


def test_recorder_survives_an_unopenable_database(tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    rec = open_feedback(f"sqlite:///{blocker / 'sub' / 'f.sqlite3'}")
    assert rec.store is None and not rec.healthy
    assert rec.submit(record()) is False and rec.pending == 1


def test_recorder_against_a_real_read_only_database(tmp_path, caplog):
    path = tmp_path / "f.sqlite3"
    FeedbackStore(f"sqlite:///{path}").close()
    rec = FeedbackRecorder(FeedbackStore(f"sqlite:///file:{path}?mode=ro&uri=true"))
    with caplog.at_level(logging.ERROR, logger="bot.feedback"):
        assert rec.submit(record("x")) is False
        assert rec.submit(record("y")) is False
    assert len(caplog.records) == 1 and rec.pending == 2


def test_rows_export_as_json_lines(store):
    from bot.feedback import iter_jsonl

    store.save(record())
    lines = list(iter_jsonl(store.find()))
    data = json.loads(lines[0])
    assert data["rating"] == "down" and data["reply"]["guard"]["label"] == "benign" and "ip" not in data
