"""The Chroma boundary: versioned builds of three collections and an atomic pointer.

A build is a set of collections (chunks, sentences, faq) under one version name.
Readers always open the version the pointer names, so a half-built version is never
read. Two layouts share this contract:

* ``EmbeddedLayout`` (default): each version is its own PersistentClient folder under
  ``<index_dir>/builds/``; the pointer is ``<index_dir>/ACTIVE.json``, replaced with an
  atomic rename.
* ``ServerLayout``: a Chroma server (``chroma run`` or a distributed deployment) through
  HttpClient; versions are collection-name prefixes and the pointer is the metadata of
  a small pointer collection, switched in one request.

Chroma's result dicts never leave this module.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np

from .errors import SearchIndexError, StoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
KINDS = ("chunks", "sentences", "faq")
_BATCH = 2000


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def new_version() -> str:
    """A sortable, unique build version name."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"v{stamp}{uuid.uuid4().hex[:6]}"


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

    def __init__(self, version: str, collections: dict, manifest: dict | None = None):
        self.version = version
        self._cols = collections
        self.manifest = manifest or {}

    def add(self, kind: str, records: Sequence[Record]) -> None:
        """Add records (with embeddings) to a collection, in batches."""
        col = self._cols[kind]
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
        return self._cols[kind].count()

    def query(self, kind: str, embedding: np.ndarray, k: int, where: dict | None = None) -> list[Hit]:
        """The k nearest records by cosine similarity."""
        col = self._cols[kind]
        n = min(k, col.count())
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
        res = self._cols[kind].get(ids=list(ids) if ids is not None else None, where=where, include=include)
        out = []
        embs = res.get("embeddings") if embeddings else None
        for i, rid in enumerate(res["ids"]):
            emb = embs[i] if embs is not None else None
            out.append(Record(rid, (res["documents"] or [""] * len(res["ids"]))[i], (res["metadatas"] or [{}])[i] or {}, _as_array(emb)))
        return out

    def iter_all(self, kind: str, embeddings: bool = False, page: int = 5000) -> Iterable[Record]:
        """Every record of a collection, page by page."""
        col = self._cols[kind]
        offset = 0
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        while True:
            res = col.get(limit=page, offset=offset, include=include)
            ids = res["ids"]
            if not ids:
                return
            embs = res.get("embeddings") if embeddings else None
            for i, rid in enumerate(ids):
                yield Record(rid, res["documents"][i], res["metadatas"][i] or {}, _as_array(embs[i]) if embs is not None else None)
            offset += len(ids)


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


def _create_collections(client, names: dict[str, str]) -> dict:
    return {
        kind: client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
        for kind, name in names.items()
    }


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
            data = json.loads(self.pointer.read_text())
            if not isinstance(data, dict) or "version" not in data:
                raise ValueError("no version")
            return data
        except (ValueError, OSError) as exc:
            raise SearchIndexError(
                f"the index pointer {self.pointer} is corrupt ({exc}); run `kratom-bot index --rebuild`"
            ) from None

    def active_marker(self) -> str | None:
        data = self.read_pointer() if self.pointer.exists() else None
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
        try:
            client = self._client(path)
            cols = {kind: client.get_collection(f"{kind}", embedding_function=None) for kind in KINDS}
        except Exception as exc:
            raise SearchIndexError(
                f"the index at {path} cannot be opened ({type(exc).__name__}: {exc}); run `kratom-bot index --rebuild`"
            ) from None
        return Build(data["version"], cols, data)

    def begin(self, version: str) -> Build:
        # Builds go into their own folder; until the pointer names it, nobody reads it.
        path = self.builds_dir / version
        path.mkdir(parents=True, exist_ok=False)
        return Build(version, _create_collections(self._client(path), {k: k for k in KINDS}))

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
    """Versions as collection-name prefixes on a Chroma server; a pointer collection's metadata names the active one."""

    def __init__(self, host: str, port: int, prefix: str = "kratombot", ssl: bool = False, token: str | None = None):
        self.host, self.port, self.prefix, self.ssl = host, port, prefix, ssl
        self._token = token
        self._client_obj = None

    def describe(self) -> str:
        return f"Chroma server at {'https' if self.ssl else 'http'}://{self.host}:{self.port}"

    def _client(self):
        if self._client_obj is None:
            import chromadb

            headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
            try:
                self._client_obj = chromadb.HttpClient(
                    host=self.host, port=self.port, ssl=self.ssl, headers=headers, settings=_chroma_settings()
                )
            except Exception as exc:
                raise StoreUnavailable(f"cannot reach the {self.describe()}: {exc}") from None
        return self._client_obj

    def _names(self, version: str) -> dict[str, str]:
        return {kind: f"{self.prefix}-{version}-{kind}" for kind in KINDS}

    def _pointer(self, create: bool = False):
        name = f"{self.prefix}-active"
        client = self._client()
        try:
            if create:
                return client.get_or_create_collection(name, embedding_function=None, metadata={"version": "none"})
            return client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if create or not _is_not_found(exc):
                raise _unavailable(self, exc) from None
            return None

    def active_marker(self) -> str | None:
        ptr = self._pointer()
        if ptr is None:
            return None
        version = (ptr.metadata or {}).get("version")
        return None if version in (None, "none") else version

    def active(self) -> Build | None:
        ptr = self._pointer()
        if ptr is None:
            return None
        meta = ptr.metadata or {}
        version = meta.get("version")
        if version in (None, "none"):
            return None
        try:
            cols = {k: self._client().get_collection(n, embedding_function=None) for k, n in self._names(version).items()}
        except Exception as exc:
            if _is_not_found(exc):
                raise SearchIndexError(
                    f"the {self.describe()} points at version {version!r} whose collections are missing; "
                    "run `kratom-bot index --publish`"
                ) from None
            raise _unavailable(self, exc) from None
        manifest = json.loads(meta.get("manifest", "{}"))
        return Build(version, cols, manifest)

    def begin(self, version: str) -> Build:
        try:
            return Build(version, _create_collections(self._client(), self._names(version)))
        except Exception as exc:
            raise _unavailable(self, exc) from None

    def commit(self, build: Build, manifest: dict) -> None:
        ptr = self._pointer(create=True)
        # One metadata update is the switch, so replicas see the old or the new version, never a mix.
        ptr.modify(metadata={"version": build.version, "manifest": json.dumps(manifest)})

    def abandon(self, build: Build) -> None:
        for name in self._names(build.version).values():
            try:
                self._client().delete_collection(name)
            except Exception:
                pass

    def cleanup(self, keep: int = 2) -> None:
        active = self.active_marker()
        client = self._client()
        versions: set[str] = set()
        for col in client.list_collections():
            name = col.name if hasattr(col, "name") else str(col)
            if name.startswith(f"{self.prefix}-v") and name.count("-") >= 2:
                versions.add(name[len(self.prefix) + 1 :].rsplit("-", 1)[0])
        old = sorted(v for v in versions if v != active)
        for version in old[: max(0, len(old) - (keep - 1))]:
            for name in self._names(version).values():
                try:
                    client.delete_collection(name)
                except Exception:
                    pass


def _is_not_found(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "notfound" in text or "does not exist" in text or "not found" in text


def _unavailable(layout: ServerLayout, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"the {layout.describe()} is unavailable ({type(exc).__name__}: {exc})")


def make_layout(settings) -> Layout:
    """The layout the settings choose."""
    if settings.chroma_mode == "http":
        token = settings.chroma_auth_token.get_secret_value() if settings.chroma_auth_token else None
        return ServerLayout(settings.chroma_host, settings.chroma_port, settings.collection_prefix, settings.chroma_ssl, token)
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
        """The active build; raises SearchIndexError when there is none, StoreUnavailable when unreachable."""
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
                    self._build = build
                self._checked = now
            return self._build

    def invalidate(self) -> None:
        """Forget the open build (after a fault), so the next request re-opens it."""
        with self._lock:
            self._build = None
