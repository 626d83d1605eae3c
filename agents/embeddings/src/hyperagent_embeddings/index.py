"""A project's index: one SQLite database per project folder in the agent's state folder.

Tables: ``files`` (path, mtime, size, content hash: what was indexed), ``chunks`` (file, lines,
title, text, the vector as a float32 blob), ``chunks_fts`` (FTS5 over path, title and text, for
BM25) and ``meta`` (what built the index: chunker, model and sizes; a change rebuilds it).

:meth:`Index.update` is incremental: a file whose mtime and size are unchanged is not read; one
whose content hash is unchanged is not re-embedded; removed files lose their chunks. Each file is
replaced in a transaction of its own, so a cancelled update leaves a consistent index that the
next update completes.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import files, redact
from .chunking import CHUNKER_VERSION, Chunk, Sizes, chunk_file
from .model import DIM, NAME, Vectors

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks (path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (
    path, title, text, about, tokenize = 'porter unicode61'
);
"""
#: Bumped whenever SCHEMA or what is stored changes: an index built before is rebuilt.
SCHEMA_VERSION = 1
TABLES = ("meta", "files", "chunks", "chunks_fts")

#: Chunks embedded per call to the model (cancellation is checked between batches).
EMBED_BATCH = 32

Embed = Callable[[list[str]], Vectors]

#: Python modules that hold a project's settings.
SETTINGS_MODULES = frozenset({"config.py", "settings.py", "conf.py", "configuration.py"})


def is_settings_module(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] in SETTINGS_MODULES or "settings" in parts[:-1]


def db_path(index_dir: Path, project: Path) -> Path:
    """``<index_dir>/<sha256 of the project's absolute path, 16 hex digits>.sqlite``."""
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    return index_dir / f"{digest}.sqlite"


_KEY = re.compile(
    r"^(?:#\s*)?(?:export\s+|-\s+)?[\"']?([A-Za-z_][\w.\-]*)[\"']?\s*[:=]", re.MULTILINE
)


def about(chunk: Chunk) -> str:
    """What a chunk is about beyond its words, for both rankings: a config chunk is
    configuration, and its keys in plain words (``DATABASE_URL`` -> "database url"), which the
    model reads better than identifiers."""
    if chunk.kind != "config":
        return ""
    keys = dict.fromkeys(" ".join(redact.key_words(k)) for k in _KEY.findall(chunk.text))
    return "configuration settings: " + ", ".join(k for k in keys if k)


def embedding_text(chunk: Chunk) -> str:
    """What is embedded: where the chunk is, what it is about, then what it says."""
    extra = about(chunk)
    return f"{chunk.title}\n{extra}\n{chunk.text}" if extra else f"{chunk.title}\n{chunk.text}"


@dataclass
class Stats:
    files: int = 0
    #: Files (re)chunked and embedded in this update.
    embedded: int = 0
    #: Files whose mtime or size changed but whose content did not.
    touched: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped_binary: int = 0
    skipped_too_big: int = 0
    skipped_beyond_limit: int = 0
    chunks: int = 0
    rebuilt: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return dict(self.__dict__)


class Index:
    def __init__(self, path: Path, project: Path, sizes: Sizes, max_file_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.project = project
        self.sizes = sizes
        self.max_file_bytes = max_file_bytes
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.rebuilt = self._check_builder()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _builder(self) -> str:
        s = self.sizes
        return (
            f"schema {SCHEMA_VERSION}; chunker {CHUNKER_VERSION}; model {NAME} ({DIM});"
            f" words {s.min_words}-{s.max_words} overlap {s.overlap_words}"
        )

    def _check_builder(self) -> bool:
        """Start the index afresh when it was built another way; True when it did."""
        want = self._builder()
        self.db.execute("BEGIN IMMEDIATE")
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        row = (
            self.db.execute("SELECT value FROM meta WHERE key = 'builder'").fetchone()
            if has_meta
            else None
        )
        if row is not None and row[0] == want:
            self.db.execute("COMMIT")
            return False
        for table in TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('builder', ?)", (want,))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('project', ?)", (str(self.project),))
        self.db.execute("COMMIT")
        return row is not None

    # ----- updating -----

    def update(
        self,
        embed: Embed,
        *,
        max_files: int,
        check: Callable[[], None] = lambda: None,
        on_file: Callable[[int, int, str], None] = lambda i, n, rel: None,
    ) -> Stats:
        """Bring the index up to date with the project's files. ``check()`` is called between
        files and batches (it raises to stop); ``on_file(i, n, rel)`` before each file that is
        read (i of n)."""
        found = files.walk(self.project, self.max_file_bytes, max_files)
        stats = Stats(
            files=len(found.files),
            skipped_too_big=found.too_big,
            skipped_beyond_limit=found.beyond_limit,
            rebuilt=self.rebuilt,
        )
        known = {
            path: (mtime, size, sha)
            for path, mtime, size, sha in self.db.execute(
                "SELECT path, mtime_ns, size, sha256 FROM files"
            )
        }
        seen = {c.rel for c in found.files}
        for gone in sorted(set(known) - seen):
            check()
            self._replace(gone, None, [], None)
            stats.removed += 1
        todo = [
            c for c in found.files if c.rel not in known or known[c.rel][:2] != (c.mtime_ns, c.size)
        ]
        stats.unchanged = len(found.files) - len(todo)
        for i, candidate in enumerate(todo):
            check()
            on_file(i, len(todo), candidate.rel)
            self._update_file(candidate, known.get(candidate.rel), embed, check, stats)
        stats.chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        self.rebuilt = False
        return stats

    def _update_file(
        self,
        c: files.Candidate,
        before: tuple[int, int, str] | None,
        embed: Embed,
        check: Callable[[], None],
        stats: Stats,
    ) -> None:
        try:
            data = c.path.read_bytes()
        except OSError:
            data = b"\0"  # unreadable now: treated as gone
        text = files.decode(data)
        if text is None:
            stats.skipped_binary += 1
            if before is not None:
                self._replace(c.rel, None, [], None)
            return
        sha = hashlib.sha256(data).hexdigest()
        if before is not None and before[2] == sha:
            self.db.execute(
                "UPDATE files SET mtime_ns = ?, size = ? WHERE path = ?",
                (c.mtime_ns, c.size, c.rel),
            )
            stats.touched += 1
            return
        chunks = chunk_file(c.rel, text, self.sizes)
        vectors = np.zeros((len(chunks), DIM), dtype=np.float32)
        for start in range(0, len(chunks), EMBED_BATCH):
            check()
            batch = chunks[start : start + EMBED_BATCH]
            vectors[start : start + len(batch)] = embed([embedding_text(x) for x in batch])
        self._replace(c.rel, c, chunks, vectors, sha)
        stats.embedded += 1

    def _replace(
        self,
        rel: str,
        c: files.Candidate | None,
        chunks: list[Chunk],
        vectors: Vectors | None,
        sha: str = "",
    ) -> None:
        """In one transaction: drop what ``rel`` had, then store its new chunks (none and no
        file row when ``c`` is None)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            ids = [row[0] for row in db.execute("SELECT id FROM chunks WHERE path = ?", (rel,))]
            db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
            db.execute("DELETE FROM chunks WHERE path = ?", (rel,))
            db.execute("DELETE FROM files WHERE path = ?", (rel,))
            if c is not None and vectors is not None:
                for chunk, vector in zip(chunks, vectors, strict=True):
                    cur = db.execute(
                        "INSERT INTO chunks (path, start_line, end_line, kind, title, text, vector)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            rel,
                            chunk.start_line,
                            chunk.end_line,
                            chunk.kind,
                            chunk.title,
                            chunk.text,
                            vector.astype(np.float32).tobytes(),
                        ),
                    )
                    db.execute(
                        "INSERT INTO chunks_fts (rowid, path, title, text, about)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (cur.lastrowid, rel, chunk.title, chunk.text, about(chunk)),
                    )
                db.execute(
                    "INSERT INTO files (path, mtime_ns, size, sha256, chunks)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (rel, c.mtime_ns, c.size, sha, len(chunks)),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # ----- reading -----

    def bm25(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score; lower is better, as FTS5 gives it) of the best ``limit``
        chunks for an FTS5 query; a title hit weighs twice a text or path hit."""
        if not match:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(chunks_fts, 1.0, 2.0, 1.0, 1.0) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?",
            (match, limit),
        )
        return [(int(i), float(s)) for i, s in rows]

    def vectors(self) -> tuple[np.ndarray, Vectors]:
        """Every chunk's id and vector, as an id array and a matrix (one row each)."""
        rows = self.db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, matrix.reshape(len(rows), DIM)

    def configuration_ids(self) -> set[int]:
        """The chunks of config files and of settings modules (:data:`SETTINGS_MODULES`, or any
        module in a ``settings`` package)."""
        rows = self.db.execute(
            "SELECT id, kind, path FROM chunks WHERE kind IN ('config', 'python')"
        )
        return {int(i) for i, kind, path in rows if kind == "config" or is_settings_module(path)}

    def chunk(self, chunk_id: int) -> dict[str, object]:
        path, start, end, kind, title, text, extra = self.db.execute(
            "SELECT c.path, start_line, end_line, kind, c.title, c.text, f.about"
            " FROM chunks AS c JOIN chunks_fts AS f ON f.rowid = c.id WHERE c.id = ?",
            (chunk_id,),
        ).fetchone()
        return {
            "file": path,
            "line": start,
            "end_line": end,
            "kind": kind,
            "title": title,
            "text": text,
            "about": extra,
        }
