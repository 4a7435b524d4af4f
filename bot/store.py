"""The Chroma boundary: versioned builds of three collections and an atomic pointer.

A build is a set of collections (chunks, sentences, faq) under one version name.
Readers always open the version the pointer names, so a half-built version is never
read. Two layouts share this contract:

* ``EmbeddedLayout`` (default): each version is its own PersistentClient folder under
  ``<index_dir>/builds/``; the pointer is ``<index_dir>/ACTIVE.json``, replaced with an
  atomic rename.
* ``ServerLayout``: a Chroma server (``chroma run`` or a distributed deployment) through
  HttpClient; versions are collection-name prefixes (``<prefix>-<version>-<kind>``) and
  the pointer is the metadata of a small pointer collection (``<prefix>-active``),
  replaced in one request. Chroma replaces a collection's metadata as a whole, so a
  reader sees the old or the new version, never a mix.

Retired versions stay readable for a grace period after the switch, so a replica that
opened the previous version a moment before the switch can finish its request.

Chroma's result dicts and exceptions never leave this module: failures become
``StoreUnavailable`` (cannot reach the store, or the version vanished) or
``SearchIndexError`` (missing, corrupt or incompatible index, with the command to run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

import numpy as np

from .errors import SearchIndexError, StoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
KINDS = ("chunks", "sentences", "faq")
_BATCH = 2000
RETIRE_GRACE_S = 120.0  # a retired version stays readable this long after the switch
STALE_BUILD_S = 3600.0  # an unpublished server build older than this is a crashed publish
PUBLISH_LOCK_STALE_S = 1800.0  # a publish lock older than this was left by a crashed publisher


def _chroma_settings(**extra):
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False, **extra)


def new_version() -> str:
    """A sortable, unique build version name (UTC timestamp plus random suffix)."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"v{stamp}{uuid.uuid4().hex[:6]}"


def version_time(version: str) -> float | None:
    """The creation time (epoch seconds) encoded in a version name, or None if it is not one of ours."""
    try:
        stamp = dt.datetime.strptime(version[1:15], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    except (ValueError, IndexError):
        return None
    return stamp.timestamp() if version.startswith("v") else None


class BuildGone(StoreUnavailable):
    """The version a reader opened was deleted under it; re-opening the active version fixes it."""


@dataclass(frozen=True)
class Record:
    """One stored item: id, text, metadata and embedding."""

    id: str
    text: str
    metadata: dict
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Hit:
    """One nearest-neighbour result."""

    record: Record
    similarity: float


class Build:
    """Read and write access to one version's collections."""

    def __init__(self, version: str, collections: dict, manifest: dict | None = None, where: str = "the index"):
        self.version = version
        self._cols = collections
        self.manifest = manifest or {}
        self.where = where
        self._counts: dict[str, int] = {}  # Chroma's count() scans the collection; a version changes only through add()

    @contextlib.contextmanager
    def _guard(self, kind: str) -> Iterator[None]:
        """Turn Chroma and transport exceptions into the project's errors."""
        try:
            yield
        except (StoreUnavailable, SearchIndexError):
            raise
        except Exception as exc:
            if _is_not_found(exc):
                raise BuildGone(
                    f"the {kind} collection of index version {self.version} in {self.where} no longer exists "
                    "(a newer version was published); the next request re-opens the active version"
                ) from None
            if is_connection_error(exc):
                raise StoreUnavailable(f"{self.where} is unavailable ({type(exc).__name__}: {exc})") from None
            raise

    def add(self, kind: str, records: Sequence[Record]) -> None:
        """Add records (with embeddings) to a collection, in batches."""
        col = self._cols[kind]
        self._counts.pop(kind, None)
        with self._guard(kind):
            for start in range(0, len(records), _BATCH):
                batch = records[start : start + _BATCH]
                col.add(
                    ids=[r.id for r in batch],
                    documents=[r.text for r in batch],
                    metadatas=[r.metadata or {"_": 0} for r in batch],
                    embeddings=np.stack([r.embedding for r in batch]).astype(np.float32),
                )

    def count(self, kind: str) -> int:
        """Number of records in a collection."""
        if kind not in self._counts:
            with self._guard(kind):
                self._counts[kind] = self._cols[kind].count()
        return self._counts[kind]

    def query(self, kind: str, embedding: np.ndarray, k: int, where: dict | None = None) -> list[Hit]:
        """The k nearest records by cosine similarity."""
        col = self._cols[kind]
        n = min(k, self.count(kind))
        with self._guard(kind):
            if n <= 0:
                return []
            res = col.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances", "embeddings"],
            )
        hits = []
        for i, rid in enumerate(res["ids"][0]):
            emb = res["embeddings"][0][i] if res.get("embeddings") is not None else None
            rec = Record(rid, res["documents"][0][i], res["metadatas"][0][i] or {}, _as_array(emb))
            hits.append(Hit(rec, 1.0 - float(res["distances"][0][i])))
        return hits

    def get(
        self, kind: str, ids: Sequence[str] | None = None, where: dict | None = None, embeddings: bool = True
    ) -> list[Record]:
        """Fetch records by id or metadata filter."""
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        with self._guard(kind):
            res = self._cols[kind].get(ids=list(ids) if ids is not None else None, where=where, include=include)
        out = []
        embs = res.get("embeddings") if embeddings else None
        docs = res.get("documents") or [""] * len(res["ids"])
        metas = res.get("metadatas") or [{}] * len(res["ids"])
        for i, rid in enumerate(res["ids"]):
            emb = embs[i] if embs is not None else None
            out.append(Record(rid, docs[i], metas[i] or {}, _as_array(emb)))
        return out

    def iter_all(self, kind: str, embeddings: bool = False, page: int = 5000) -> Iterable[Record]:
        """Every record of a collection, page by page."""
        col = self._cols[kind]
        offset = 0
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        while True:
            with self._guard(kind):
                res = col.get(limit=page, offset=offset, include=include)
            ids = res["ids"]
            if not ids:
                return
            embs = res.get("embeddings") if embeddings else None
            for i, rid in enumerate(ids):
                yield Record(rid, res["documents"][i], res["metadatas"][i] or {}, _as_array(embs[i]) if embs is not None else None)
            offset += len(ids)

    def verify(self, expected: dict[str, int]) -> None:
        """Check that every collection holds the expected number of records (before publishing it)."""
        for kind, want in expected.items():
            have = self.count(kind)
            if have != want:
                raise SearchIndexError(
                    f"index version {self.version} in {self.where} is incomplete: {kind} holds {have} records, "
                    f"expected {want}; it was not published"
                )


def _as_array(emb) -> np.ndarray | None:
    if emb is None:
        return None
    return np.asarray(emb, dtype=np.float32)


class Layout(Protocol):
    """Where versions live and how the active one is chosen."""

    def active(self) -> Build | None: ...
    def begin(self, version: str) -> Build: ...
    def commit(self, build: Build, manifest: dict) -> None: ...
    def abandon(self, build: Build) -> None: ...
    def cleanup(self, keep: int = 2) -> None: ...
    def describe(self) -> str: ...
    def active_marker(self) -> str | None: ...
    def lock(self) -> contextlib.AbstractContextManager: ...


def _create_collections(client, names: dict[str, str]) -> dict:
    return {
        kind: client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
        for kind, name in names.items()
    }


def _reraise_fatal(exc: BaseException) -> None:
    # Rust panics inside chromadb (pyo3 PanicException) derive from BaseException; interrupts must still pass.
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


class EmbeddedLayout:
    """Versions as PersistentClient folders; ACTIVE.json names the active one."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self.builds_dir = self.index_dir / "builds"
        self.pointer = self.index_dir / "ACTIVE.json"

    def describe(self) -> str:
        return f"embedded Chroma at {self.index_dir}"

    def _client(self, path: Path):
        import chromadb

        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())

    def read_pointer(self) -> dict | None:
        """The pointer file's content, or None when there is no index yet."""
        if not self.pointer.exists():
            return None
        try:
            data = json.loads(self.pointer.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("version"), str):
                raise ValueError("it names no version")
            return data
        except (ValueError, OSError) as exc:
            raise SearchIndexError(
                f"the index pointer {self.pointer} is corrupt ({exc}); run `kratom-bot index --rebuild`"
            ) from None

    def active_marker(self) -> str | None:
        data = self.read_pointer()
        return data["version"] if data else None

    def active(self) -> Build | None:
        data = self.read_pointer()
        if data is None:
            return None
        path = self.builds_dir / data["version"]
        if not path.is_dir():
            raise SearchIndexError(
                f"the active index folder {path} is missing; run `kratom-bot index --rebuild`"
            )
        _check_sqlite(path / "chroma.sqlite3")
        try:
            client = self._client(path)
            cols = {kind: client.get_collection(f"{kind}", embedding_function=None) for kind in KINDS}
        except BaseException as exc:
            _reraise_fatal(exc)
            _release_client(path)  # else Chroma caches the broken client and later errors mislead
            raise SearchIndexError(
                f"the index at {path} cannot be opened ({type(exc).__name__}: {exc}); run `kratom-bot index --rebuild`"
            ) from None
        return Build(data["version"], cols, data, where=self.describe())

    def begin(self, version: str) -> Build:
        # Builds go into their own folder; until the pointer names it, nobody reads it.
        path = self.builds_dir / version
        path.mkdir(parents=True, exist_ok=False)
        return Build(version, _create_collections(self._client(path), {k: k for k in KINDS}), where=self.describe())

    def commit(self, build: Build, manifest: dict) -> None:
        final = self.builds_dir / build.version
        (final / "manifest.json").write_text(json.dumps(manifest, indent=2))
        tmp = self.pointer.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)  # the switch: atomic on POSIX
        _fsync_dir(self.index_dir)

    def abandon(self, build: Build) -> None:
        path = self.builds_dir / build.version
        _release_client(path)
        shutil.rmtree(path, ignore_errors=True)

    def cleanup(self, keep: int = 2) -> None:
        """Delete unfinished builds and all but the newest ``keep`` finished ones (the active one always stays)."""
        if not self.builds_dir.is_dir():
            return
        active = self.active_marker()
        finished = []
        for path in sorted(p for p in self.builds_dir.iterdir() if p.is_dir()):
            if path.name == active:
                continue
            if not (path / "manifest.json").exists():
                _release_client(path)
                shutil.rmtree(path, ignore_errors=True)  # left by a crashed build
            else:
                finished.append(path)
        for path in finished[: max(0, len(finished) - (keep - 1))]:
            _release_client(path)
            shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One build at a time per index folder (a file lock; it dies with a killed builder)."""
        import fcntl

        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".build.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SearchIndexError(f"another index build is running in {self.index_dir}; wait for it to finish") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _check_sqlite(path: Path) -> None:
    """Refuse a corrupt Chroma database before chromadb's Rust core panics on it."""
    if not path.exists():
        raise SearchIndexError(f"the index database {path} is missing; run `kratom-bot index --rebuild`")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            row = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
        problem = None if row and row[0] == "ok" else (row[0] if row else "no answer")
    except sqlite3.Error as exc:
        problem = str(exc)
    if problem:
        raise SearchIndexError(f"the index database {path} is corrupt ({problem}); run `kratom-bot index --rebuild`")


def _release_client(path: Path) -> None:
    """Drop Chroma's cached system for a path so its files can be moved or deleted."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
    except Exception:  # internal API; losing the cache entry only costs memory
        pass


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


class ServerLayout:
    """Versions as collection-name prefixes on a Chroma server; a pointer collection's metadata names the active one.

    Works with ``chroma run`` and with a distributed Chroma deployment (set the tenant and
    database). Every publish records its version and time in the pointer's ``history``,
    which decides when retired versions may be deleted.
    """

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str = "kratombot",
        ssl: bool = False,
        token: str | None = None,
        *,
        tenant: str = "default_tenant",
        database: str = "default_database",
        auth_header: str = "authorization",
        timeout_s: float = 10.0,
        ssl_verify: bool | str = True,
        retire_grace_s: float = RETIRE_GRACE_S,
    ):
        self.host, self.port, self.prefix, self.ssl = host, port, prefix, ssl
        self.tenant, self.database = tenant, database
        self.auth_header = auth_header
        self.timeout_s = timeout_s
        self.ssl_verify = ssl_verify
        self.retire_grace_s = retire_grace_s
        self._token = token
        self._client_obj = None
        self._client_lock = threading.Lock()

    def describe(self) -> str:
        return f"Chroma server at {'https' if self.ssl else 'http'}://{self.host}:{self.port}"

    # -- connection --------------------------------------------------------------------

    def _headers(self) -> dict[str, str] | None:
        if not self._token:
            return None
        if self.auth_header == "x-chroma-token":
            return {"X-Chroma-Token": self._token}
        return {"Authorization": f"Bearer {self._token}"}

    def _client(self):
        with self._client_lock:
            if self._client_obj is None:
                import chromadb

                extra = {} if self.ssl_verify is True else {"chroma_server_ssl_verify": self.ssl_verify}
                try:
                    client = chromadb.HttpClient(
                        host=self.host, port=self.port, ssl=self.ssl, headers=self._headers(),
                        tenant=self.tenant, database=self.database, settings=_chroma_settings(**extra),
                    )
                except Exception as exc:
                    raise _unavailable(self, exc, self._diagnose()) from None
                _set_timeout(client, self.timeout_s)
                self._client_obj = client
            return self._client_obj

    def _diagnose(self) -> str:
        """Why the server cannot be reached (chromadb's own message hides TLS and auth details)."""
        import httpx

        url = f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}/api/v2/heartbeat"
        try:
            resp = httpx.get(url, headers=self._headers(), verify=self.ssl_verify, timeout=min(self.timeout_s, 5.0))
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if "CERTIFICATE_VERIFY_FAILED" in text:
                text += "; set KRATOMBOT_CHROMA_SSL_VERIFY to the server's CA bundle"
            return text
        return f"HTTP {resp.status_code} from {url}"

    def _names(self, version: str) -> dict[str, str]:
        return {kind: f"{self.prefix}-{version}-{kind}" for kind in KINDS}

    @property
    def pointer_name(self) -> str:
        return f"{self.prefix}-active"

    @property
    def lock_name(self) -> str:
        return f"{self.prefix}-publishing"

    def _pointer_meta(self) -> dict | None:
        """The pointer collection's metadata, or None when nothing was ever published."""
        try:
            ptr = self._client().get_collection(self.pointer_name, embedding_function=None)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise _unavailable(self, exc) from None
        return dict(ptr.metadata or {})

    # -- reading -----------------------------------------------------------------------

    def active_marker(self) -> str | None:
        meta = self._pointer_meta()
        version = (meta or {}).get("version")
        return None if version in (None, "none") else str(version)

    def active(self) -> Build | None:
        meta = self._pointer_meta()
        if meta is None or meta.get("version") in (None, "none"):
            return None
        version = str(meta["version"])
        try:
            manifest = json.loads(meta.get("manifest") or "{}")
            if not isinstance(manifest, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise SearchIndexError(
                f"the index pointer {self.pointer_name!r} on the {self.describe()} is corrupt ({exc}); "
                "run `kratom-bot index --publish`"
            ) from None
        try:
            client = self._client()
            cols = {k: client.get_collection(n, embedding_function=None) for k, n in self._names(version).items()}
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _is_not_found(exc):
                raise SearchIndexError(
                    f"the {self.describe()} points at version {version!r} whose collections are missing; "
                    "run `kratom-bot index --publish`"
                ) from None
            raise _unavailable(self, exc) from None
        return Build(version, cols, manifest, where=self.describe())

    # -- writing -----------------------------------------------------------------------

    def begin(self, version: str) -> Build:
        try:
            return Build(version, _create_collections(self._client(), self._names(version)), where=self.describe())
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise _unavailable(self, exc) from None

    def commit(self, build: Build, manifest: dict) -> None:
        try:
            client = self._client()
            ptr = client.get_or_create_collection(self.pointer_name, embedding_function=None, metadata={"version": "none"})
            history = _history(ptr.metadata or {})
            history = [h for h in history if h["version"] != build.version]
            history.append({"version": build.version, "published": time.time()})
            # One metadata update is the switch: Chroma replaces the whole metadata at once.
            ptr.modify(
                metadata={"version": build.version, "manifest": json.dumps(manifest), "history": json.dumps(history[-20:])}
            )
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise _unavailable(self, exc) from None

    def abandon(self, build: Build) -> None:
        for name in self._names(build.version).values():
            try:
                self._client().delete_collection(name)
            except Exception:  # best effort; cleanup() removes leftovers later
                pass

    def _versions_on_server(self) -> set[str]:
        client = self._client()
        versions: set[str] = set()
        offset, page = 0, 100
        while True:
            cols = client.list_collections(limit=page, offset=offset)
            for col in cols:
                name = col.name if hasattr(col, "name") else str(col)
                rest = name[len(self.prefix) + 1 :] if name.startswith(f"{self.prefix}-") else ""
                version, _, kind = rest.rpartition("-")
                if kind in KINDS and version_time(version) is not None:
                    versions.add(version)
            if len(cols) < page:
                return versions
            offset += page

    def cleanup(self, keep: int = 2, now: float | None = None) -> None:
        """Delete old versions: keep the active one and the newest ``keep - 1`` retired ones.

        A retired version is deleted only after ``retire_grace_s`` (replicas may still be
        reading it); a version that was never published only once it is older than an
        hour (another publisher may still be building it; else it is a crashed publish).
        """
        now = time.time() if now is None else now
        meta = self._pointer_meta() or {}
        active = meta.get("version")
        history = _history(meta)
        retired_at: dict[str, float] = {}
        for older, newer in zip(history, history[1:]):
            retired_at[older["version"]] = newer["published"]
        published = [h["version"] for h in history if h["version"] != active]
        keep_retired = set(published[-(keep - 1):]) if keep > 1 else set()
        for version in sorted(self._versions_on_server()):
            if version == active or version in keep_retired:
                continue
            if version in retired_at or version in published:
                if now - retired_at.get(version, 0.0) < self.retire_grace_s:
                    continue
            elif now - (version_time(version) or now) < STALE_BUILD_S:
                continue  # never published: probably being built right now by another publisher
            self._delete_version(version)

    def _delete_version(self, version: str) -> None:
        for name in self._names(version).values():
            try:
                self._client().delete_collection(name)
            except Exception as exc:
                if not _is_not_found(exc):
                    log.warning("could not delete collection %s: %s", name, exc)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One publish at a time across machines: a lock collection that only one creator can make."""
        client = self._client()
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        for _attempt in range(2):
            try:
                client.create_collection(
                    self.lock_name, embedding_function=None, metadata={"owner": owner, "since": time.time()}
                )
                break
            except Exception as exc:
                if not _already_exists(exc):
                    raise _unavailable(self, exc) from None
                try:
                    held = dict(client.get_collection(self.lock_name, embedding_function=None).metadata or {})
                except Exception:
                    held = {}
                since = float(held.get("since", 0.0))
                if time.time() - since < PUBLISH_LOCK_STALE_S:
                    started = dt.datetime.fromtimestamp(since, dt.timezone.utc).isoformat(timespec="seconds")
                    raise SearchIndexError(
                        f"another publish to the {self.describe()} is running ({held.get('owner', '?')}, since {started}); "
                        f"wait for it, or delete the collection {self.lock_name!r} if that publisher crashed"
                    ) from None
                log.warning("removing a stale publish lock left by %s", held.get("owner", "?"))
                with contextlib.suppress(Exception):
                    client.delete_collection(self.lock_name)
        else:
            raise SearchIndexError(f"could not take the publish lock {self.lock_name!r} on the {self.describe()}")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                client.delete_collection(self.lock_name)


def _history(meta: dict) -> list[dict]:
    try:
        items = json.loads(meta.get("history") or "[]")
        return [
            {"version": str(h["version"]), "published": float(h["published"])}
            for h in items
            if isinstance(h, dict) and "version" in h and "published" in h
        ]
    except (ValueError, TypeError):
        return []


def _set_timeout(client, seconds: float) -> None:
    """chromadb's HttpClient waits forever by default; a hung server must not hang every request."""
    try:
        import httpx

        client._server._session.timeout = httpx.Timeout(seconds)
    except Exception:  # internal API; without it requests only lack a timeout
        log.debug("could not set the Chroma client timeout")


def _is_not_found(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "notfound" in text or "does not exist" in text or "not found" in text


def _already_exists(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "uniqueconstraint" in text or "already exists" in text


def is_connection_error(exc: BaseException) -> bool:
    """Whether an exception means the store could not be reached (as opposed to a bad request)."""
    try:
        import httpx

        if isinstance(exc, httpx.TransportError):
            return True
    except ImportError:  # pragma: no cover - httpx comes with chromadb
        pass
    if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("could not connect", "connection", "timed out", "timeout", "unreachable", "refused"))


def _is_auth_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("autherror", "authorizationerror", "unauthorized", "forbidden", " 401", " 403"))


def _unavailable(layout: ServerLayout, exc: BaseException, detail: str = "") -> StoreUnavailable:
    if _is_auth_error(exc) or " 401 " in f" {detail} " or " 403 " in f" {detail} ":
        return StoreUnavailable(
            f"the {layout.describe()} refused the credentials ({type(exc).__name__}: {exc}); "
            "check KRATOMBOT_CHROMA_AUTH_TOKEN and KRATOMBOT_CHROMA_AUTH_HEADER"
        )
    detail = f"; {detail}" if detail and not detail.startswith("HTTP 200") else ""
    return StoreUnavailable(f"the {layout.describe()} is unavailable ({type(exc).__name__}: {exc}{detail})")


def make_layout(settings) -> Layout:
    """The layout the settings choose."""
    if settings.chroma_mode == "http":
        token = settings.chroma_auth_token.get_secret_value() if settings.chroma_auth_token else None
        verify: bool | str = settings.chroma_ssl_verify
        if isinstance(verify, str) and verify.lower() in ("true", "false"):
            verify = verify.lower() == "true"
        return ServerLayout(
            settings.chroma_host, settings.chroma_port, settings.collection_prefix, settings.chroma_ssl, token,
            tenant=settings.chroma_tenant, database=settings.chroma_database, auth_header=settings.chroma_auth_header,
            timeout_s=settings.chroma_timeout_s, ssl_verify=verify, retire_grace_s=settings.index_retire_grace_s,
        )
    return EmbeddedLayout(settings.resolved_index_dir)


class ActiveIndex:
    """The build that serves answers; re-opened when the pointer switches to a new version."""

    def __init__(self, layout: Layout, recheck_seconds: float = 2.0):
        self.layout = layout
        self.recheck_seconds = recheck_seconds
        self._build: Build | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Build:
        """The active build; raises SearchIndexError when there is none or it is unusable, StoreUnavailable when unreachable."""
        with self._lock:
            now = time.monotonic()
            if self._build is None or now - self._checked >= self.recheck_seconds:
                marker = self.layout.active_marker()
                if self._build is None or marker != self._build.version:
                    build = self.layout.active()
                    if build is None:
                        raise SearchIndexError(
                            f"no index has been built in the {self.layout.describe()}; run `kratom-bot index`"
                        )
                    check_schema(build)
                    if self._build is not None:
                        log.info("switched from index version %s to %s", self._build.version, build.version)
                    self._build = build
                self._checked = now
            return self._build

    def invalidate(self) -> None:
        """Forget the open build (after a fault), so the next request re-opens it."""
        with self._lock:
            self._build = None


def check_schema(build: Build) -> None:
    """Refuse to serve from an index written by an incompatible version of kratom-bot."""
    schema = build.manifest.get("schema")
    if schema != SCHEMA_VERSION:
        raise SearchIndexError(
            f"the index version {build.version} has schema {schema!r}, but this kratom-bot needs schema "
            f"{SCHEMA_VERSION}; run `kratom-bot index --rebuild` (or `kratom-bot index --publish` for a Chroma server)"
        )
