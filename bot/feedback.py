"""The feedback store: thumbs up/down with an optional comment, behind a database URL.

One code path serves SQLite (the default, a file under the data folder) and PostgreSQL
(``postgresql+psycopg://...``) through SQLAlchemy. SQLite runs in WAL mode with
``synchronous=FULL`` and ``BEGIN IMMEDIATE`` transactions, so concurrent writers from
several threads or processes queue up instead of failing, and a committed row survives
the app being killed.

What is stored: the conversation turns, the reply JSON (guard decision, retrieved ids,
trace), a UTC timestamp, the app and corpus versions, the rating and the comment. No IP
address, user agent or browser session id is ever stored; a conversation is identified
by a random id that the app makes for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import BotError

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]

# Characters that no database column should hold: NUL (PostgreSQL rejects it), other C0/C1
# controls except tab and newline, and lone surrogates (not encodable as UTF-8).
_BAD_CHARS = {i: None for i in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_BAD_CHARS.update({i: "\ufffd" for i in range(0xD800, 0xE000)})


def clean_for_storage(text: str) -> str:
    """Text that every database accepts: no NUL or control characters, valid UTF-8, NFC."""
    if not isinstance(text, str):
        text = str(text)
    text = text.translate(_BAD_CHARS)
    return unicodedata.normalize("NFC", text)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_for_storage(value)
    if isinstance(value, dict):
        return {clean_for_storage(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


class FeedbackError(BotError):
    """The feedback database cannot be opened or written (disk full, read-only, unreachable)."""


class FeedbackRecord(BaseModel):
    """One rating of one answer, as the app submits it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=64)
    message_index: int = Field(ge=0)  # position of the rated answer in the conversation
    rating: Rating
    comment: str = Field("", max_length=4000)
    turns: tuple[dict, ...] = ()  # [{"role": "user"|"assistant", "content": str}, ...] up to the rated answer
    reply: dict = Field(default_factory=dict)  # Reply.to_json_dict() of the rated answer
    app_version: str = ""
    corpus_version: str = ""
    created_at: dt.datetime | None = None  # UTC; default: now

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data):
        # Browsers can send lone surrogates and NUL; clean them before validation rejects the rating.
        return _clean_json(data) if isinstance(data, dict) else data

    @property
    def key(self) -> tuple[str, int]:
        """What identifies the rated answer (rating it again replaces the earlier rating)."""
        return (self.conversation_id, self.message_index)


class StoredFeedback(BaseModel):
    """A feedback row as read back for staff review."""

    model_config = ConfigDict(frozen=True)

    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    conversation_id: str
    message_index: int
    rating: Rating
    comment: str
    turns: tuple[dict, ...]
    reply: dict
    guard_label: str
    guard_action: str
    refused: bool
    emergency: bool
    answer_source: str
    app_version: str
    corpus_version: str
    flagged: bool
    staff_note: str

    @property
    def question(self) -> str:
        """The user turn that the rated answer replied to."""
        for turn in reversed(self.turns):
            if turn.get("role") == "user":
                return str(turn.get("content", ""))
        return ""


@dataclass(frozen=True)
class FeedbackFilter:
    """What staff want to see; rows come thumbs-down first, then newest first."""

    rating: Rating | None = None
    guard_label: str | None = None
    with_comment: bool = False
    flagged_only: bool = False
    since: dt.datetime | None = None
    text: str = ""
    limit: int = 200


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


class _UtcDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC on the way in and out, on SQLite (naive text) and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return _as_utc(value)


_METADATA = sa.MetaData()
FEEDBACK_TABLE = sa.Table(
    "kratombot_feedback",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", _UtcDateTime(), nullable=False, index=True),
    sa.Column("updated_at", _UtcDateTime(), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("message_index", sa.Integer, nullable=False),
    sa.Column("rating", sa.String(8), nullable=False, index=True),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("turns_json", sa.Text, nullable=False),
    sa.Column("reply_json", sa.Text, nullable=False),
    sa.Column("guard_label", sa.String(40), nullable=False, default=""),
    sa.Column("guard_action", sa.String(40), nullable=False, default=""),
    sa.Column("refused", sa.Boolean, nullable=False, default=False),
    sa.Column("emergency", sa.Boolean, nullable=False, default=False),
    sa.Column("answer_source", sa.String(20), nullable=False, default=""),
    sa.Column("app_version", sa.String(40), nullable=False, default=""),
    sa.Column("corpus_version", sa.String(64), nullable=False, default=""),
    sa.Column("flagged", sa.Boolean, nullable=False, default=False),
    sa.Column("staff_note", sa.Text, nullable=False, default=""),
    sa.UniqueConstraint("conversation_id", "message_index", name="uq_kratombot_feedback_answer"),
)


class FeedbackStore:
    """Feedback rows in SQLite or PostgreSQL, one code path, every write one short transaction."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0):
        try:
            parsed = sa.engine.make_url(url)
        except Exception as exc:
            raise FeedbackError(f"feedback database URL {url!r} is not valid ({exc}); set KRATOMBOT_FEEDBACK_DB") from None
        self.dialect = parsed.get_backend_name()
        self.safe_url = parsed.render_as_string(hide_password=True)
        if self.dialect == "sqlite":
            _make_sqlite_folder(parsed.database)
            self.engine = sa.create_engine(parsed, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})
            _install_sqlite_hooks(self.engine, busy_timeout_s)
        elif self.dialect == "postgresql":
            self.engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
        else:
            raise FeedbackError(
                f"feedback database {self.safe_url!r} uses {self.dialect!r}; only sqlite and postgresql are supported"
            )
        # Reads take no write lock on SQLite (see the "begin" hook).
        self._reader = self.engine.execution_options(kb_read_only=True)
        self.table = FEEDBACK_TABLE
        self._create_schema()

    def _create_schema(self) -> None:
        for attempt in range(5):
            try:
                _METADATA.create_all(self.engine, checkfirst=True)
                return
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                # Another process created the table at the same moment (PostgreSQL catalog race).
                time.sleep(0.1 * (attempt + 1))
            except sa.exc.SQLAlchemyError as exc:
                raise FeedbackError(f"cannot open feedback database {self.safe_url}: {_short(exc)}") from None
        raise FeedbackError(f"cannot create the feedback table in {self.safe_url}")

    @contextlib.contextmanager
    def _transaction(self, what: str, *, read: bool = False) -> Iterator[sa.Connection]:
        """One transaction; database errors become FeedbackError (unique conflicts pass through)."""
        try:
            with (self._reader if read else self.engine).begin() as conn:
                yield conn
        except sa.exc.IntegrityError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackError(f"cannot {what} feedback database {self.safe_url}: {_short(exc)}") from None

    # -- writes ------------------------------------------------------------------------

    def save(self, record: FeedbackRecord) -> int:
        """Insert a rating, or replace the earlier rating of the same answer; return the row id."""
        t = self.table
        now = _utcnow()
        reply = _clean_json(record.reply)
        guard = reply.get("guard") or {}
        values = {
            "updated_at": now,
            "rating": record.rating,
            "comment": clean_for_storage(record.comment).strip(),
            "turns_json": json.dumps(_clean_json(list(record.turns)), ensure_ascii=False),
            "reply_json": json.dumps(reply, ensure_ascii=False),
            "guard_label": str(guard.get("label", ""))[:40],
            "guard_action": str(guard.get("action", ""))[:40],
            "refused": bool(reply.get("refused", False)),
            "emergency": bool(reply.get("emergency", False)),
            "answer_source": str(reply.get("answer_source", ""))[:20],
            "app_version": clean_for_storage(record.app_version)[:40],
            "corpus_version": clean_for_storage(record.corpus_version)[:64],
        }
        conversation_id = clean_for_storage(record.conversation_id)
        same_answer = (t.c.conversation_id == conversation_id) & (t.c.message_index == record.message_index)
        for _attempt in range(3):
            try:
                with self._transaction("write to") as conn:
                    existing = conn.execute(sa.select(t.c.id).where(same_answer)).scalar()
                    if existing is not None:
                        conn.execute(sa.update(t).where(t.c.id == existing).values(**values))
                        return int(existing)
                    result = conn.execute(
                        sa.insert(t).values(
                            conversation_id=conversation_id,
                            message_index=record.message_index,
                            created_at=_as_utc(record.created_at) or now,
                            flagged=False,
                            staff_note="",
                            **values,
                        )
                    )
                    return int(result.inserted_primary_key[0])
            except sa.exc.IntegrityError:
                continue  # the same answer was rated twice at once (PostgreSQL); the retry updates it
        raise FeedbackError(f"could not save feedback for answer {record.key}: conflicting writes")

    def remove(self, conversation_id: str, message_index: int) -> bool:
        """Delete the rating of one answer (the visitor took their thumb back); True if one existed."""
        t = self.table
        with self._transaction("write to") as conn:
            result = conn.execute(
                sa.delete(t).where(
                    (t.c.conversation_id == clean_for_storage(conversation_id)) & (t.c.message_index == message_index)
                )
            )
        return result.rowcount > 0

    def set_review(self, feedback_id: int, *, flagged: bool | None = None, staff_note: str | None = None) -> None:
        """Staff marks: flag a row for follow-up and keep a note with it."""
        values: dict = {}
        if flagged is not None:
            values["flagged"] = bool(flagged)
        if staff_note is not None:
            values["staff_note"] = clean_for_storage(staff_note)[:4000]
        if not values:
            return
        with self._transaction("write to") as conn:
            result = conn.execute(sa.update(self.table).where(self.table.c.id == int(feedback_id)).values(**values))
        if result.rowcount == 0:
            raise FeedbackError(f"feedback #{feedback_id} does not exist")

    def purge(self, retention_days: int, now: dt.datetime | None = None) -> int:
        """Delete rows older than the retention period; return how many were deleted."""
        if retention_days < 1:
            raise FeedbackError(f"retention must be at least 1 day, got {retention_days!r}")
        cutoff = (_as_utc(now) or _utcnow()) - dt.timedelta(days=retention_days)
        with self._transaction("purge") as conn:
            result = conn.execute(sa.delete(self.table).where(self.table.c.created_at < cutoff))
        deleted = int(result.rowcount or 0)
        if deleted:
            log.info("purged %d feedback row(s) older than %d days", deleted, retention_days)
        return deleted

    # -- reads -------------------------------------------------------------------------

    def get(self, feedback_id: int) -> StoredFeedback | None:
        """One row by id, or None."""
        with self._transaction("read", read=True) as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.id == int(feedback_id))).mappings().first()
        return _to_stored(row) if row else None

    def find(self, flt: FeedbackFilter | None = None) -> list[StoredFeedback]:
        """Rows matching a filter, thumbs-down first, then newest first."""
        t = self.table
        flt = flt or FeedbackFilter()
        query = sa.select(t)
        if flt.rating:
            query = query.where(t.c.rating == flt.rating)
        if flt.guard_label:
            query = query.where(t.c.guard_label == flt.guard_label)
        if flt.with_comment:
            query = query.where(t.c.comment != "")
        if flt.flagged_only:
            query = query.where(t.c.flagged.is_(True))
        if flt.since is not None:
            query = query.where(t.c.created_at >= _as_utc(flt.since))
        if flt.text.strip():
            needle = f"%{_escape_like(flt.text.strip().lower())}%"
            query = query.where(
                sa.func.lower(t.c.comment).like(needle, escape="\\")
                | sa.func.lower(t.c.turns_json).like(needle, escape="\\")
            )
        down_first = sa.case((t.c.rating == "down", 0), else_=1)
        query = query.order_by(down_first, t.c.created_at.desc(), t.c.id.desc()).limit(max(1, min(flt.limit, 5000)))
        with self._transaction("read", read=True) as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_stored(r) for r in rows]

    def count(self, rating: Rating | None = None) -> int:
        """How many rows there are (of one rating, or all)."""
        query = sa.select(sa.func.count()).select_from(self.table)
        if rating:
            query = query.where(self.table.c.rating == rating)
        with self._transaction("read", read=True) as conn:
            return int(conn.execute(query).scalar() or 0)

    def labels(self) -> list[str]:
        """The guard labels that occur in stored feedback (for the staff filter)."""
        with self._transaction("read", read=True) as conn:
            return sorted(r[0] for r in conn.execute(sa.select(self.table.c.guard_label).distinct()) if r[0])

    def ping(self) -> None:
        """Raise FeedbackError unless the database answers a trivial query."""
        with self._transaction("read", read=True) as conn:
            conn.execute(sa.text("SELECT 1"))

    def journal_mode(self) -> str:
        """SQLite's journal mode ('wal' when healthy); the dialect name for other databases."""
        if self.dialect != "sqlite":
            return self.dialect
        with self._transaction("read", read=True) as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _make_sqlite_folder(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FeedbackError(f"cannot create the folder for feedback database {database!r}: {exc}") from None


def _install_sqlite_hooks(engine: sa.Engine, busy_timeout_s: float) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let the "begin" hook below issue BEGIN (pysqlite's own handling defers it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            try:
                cur.execute("PRAGMA journal_mode = WAL")
            except Exception:  # a read-only file cannot switch modes; reads still work
                log.debug("could not switch the feedback database to WAL")
            cur.execute("PRAGMA synchronous = FULL")  # a committed row survives a crash or power loss
        finally:
            cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front (IMMEDIATE), so two writers never deadlock
        # upgrading a read lock; readers never block anyone in WAL mode.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("kb_read_only") else "BEGIN IMMEDIATE")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _short(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _to_stored(row) -> StoredFeedback:
    return StoredFeedback(
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        conversation_id=row["conversation_id"],
        message_index=row["message_index"],
        rating=row["rating"],
        comment=row["comment"] or "",
        turns=tuple(json.loads(row["turns_json"] or "[]")),
        reply=json.loads(row["reply_json"] or "{}"),
        guard_label=row["guard_label"] or "",
        guard_action=row["guard_action"] or "",
        refused=bool(row["refused"]),
        emergency=bool(row["emergency"]),
        answer_source=row["answer_source"] or "",
        app_version=row["app_version"] or "",
        corpus_version=row["corpus_version"] or "",
        flagged=bool(row["flagged"]),
        staff_note=row["staff_note"] or "",
    )


class FeedbackRecorder:
    """What the web app writes through: a failed write never reaches the visitor.

    When the database is full, read-only or unreachable, the rating is kept in a bounded
    in-memory queue and written with the next successful write (or at shutdown through
    ``flush``). The failure is logged once per outage, and the recovery once.
    """

    def __init__(self, store: FeedbackStore | None, *, max_pending: int = 1000, store_error: str = ""):
        self.store = store
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple[str, int], FeedbackRecord | None] = OrderedDict()
        self._lock = threading.Lock()
        self._failing = False
        self._dropped = 0
        self.last_error = store_error
        if store is None:
            self._failing = True
            log.error("feedback cannot be stored: %s", store_error or "no feedback database")

    @property
    def healthy(self) -> bool:
        """False while writes are failing."""
        return not self._failing

    @property
    def pending(self) -> int:
        """Ratings waiting to be written."""
        return len(self._pending)

    def submit(self, record: FeedbackRecord) -> bool:
        """Save a rating (or queue it when the database fails); True if it is in the database now."""
        with self._lock:
            self._pending.pop(record.key, None)
            self._pending[record.key] = record
            return self._drain()

    def retract(self, conversation_id: str, message_index: int) -> bool:
        """Remove a rating the visitor took back (queued like a write when the database fails)."""
        with self._lock:
            key = (conversation_id, message_index)
            self._pending.pop(key, None)
            self._pending[key] = None
            return self._drain()

    def flush(self) -> bool:
        """Try to write everything still queued; True when nothing is left."""
        with self._lock:
            return self._drain()

    def _drain(self) -> bool:
        while len(self._pending) > self.max_pending:
            self._pending.popitem(last=False)
            self._dropped += 1
        if self.store is None:
            return False
        while self._pending:
            key, record = next(iter(self._pending.items()))
            try:
                if record is None:
                    self.store.remove(*key)
                else:
                    self.store.save(record)
            except FeedbackError as exc:
                self.last_error = str(exc)
                if not self._failing:
                    self._failing = True
                    log.error("feedback writes are failing; ratings are kept in memory until they succeed: %s", exc)
                return False
            self._pending.pop(key, None)
        if self._failing:
            self._failing = False
            log.warning("feedback writes work again; queued ratings have been saved")
        return True


def open_feedback(url: str) -> FeedbackRecorder:
    """A recorder over the store at ``url``; a store that cannot be opened yields a failing recorder, not a crash."""
    try:
        return FeedbackRecorder(FeedbackStore(url))
    except FeedbackError as exc:
        return FeedbackRecorder(None, store_error=str(exc))


def iter_jsonl(rows: Iterable[StoredFeedback]) -> Iterable[str]:
    """Rows as JSON lines (for a staff download)."""
    for row in rows:
        yield json.dumps(row.model_dump(mode="json"), ensure_ascii=False) + "\n"
