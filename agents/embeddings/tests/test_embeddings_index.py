"""The index is incremental: only changed files are embedded again, removed ones are dropped,
and what is secret or not text never gets in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyperagent_embeddings import index, model
from hyperagent_embeddings.chunking import Sizes
from hyperagent_sdk import TaskCancelled


class Counting:
    """The real model, counting what it is asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> model.Vectors:
        self.texts.extend(texts)
        return model.embed(texts)


def project(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text("# Shop\n\nSells things.\n\n## Run\n\nuvicorn shop.main:app\n")
    (root / "docs" / "deploy.rst").write_text("Deploy\n======\n\nCopy the wheel to the server.\n")
    (root / "settings.toml").write_text('[db]\nurl = "postgres://db/shop"\npassword = "hunter2"\n')
    (root / "app.py").write_text('"""The app."""\n\n\ndef main():\n    """Start it."""\n')
    for skipped in [".git", ".venv", "node_modules", "build", "pkg.egg-info", "__pycache__"]:
        (root / skipped).mkdir()
        (root / skipped / "notes.md").write_text("# Not indexed\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "env" / "inside.md").write_text("# A venv under another name\n")
    (root / "logo.md").write_bytes(b"\x89PNG\0\0binary")
    (root / "huge.md").write_text("# Huge\n" + "word " * 50_000)
    (root / "main.rs").write_text("// not a kind we index\n")
    return root


def open_index(tmp_path: Path, root: Path) -> index.Index:
    return index.Index(tmp_path / "state" / "i.sqlite", root, Sizes(), max_file_bytes=100_000)


def indexed_files(idx: index.Index) -> list[str]:
    return [row[0] for row in idx.db.execute("SELECT path FROM files ORDER BY path")]


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_first_update_indexes_text_files_and_skips_the_rest(tmp_path: Path) -> None:
    root = project(tmp_path / "shop")
    with open_index(tmp_path, root) as idx:
        stats = idx.update(Counting(), max_files=100)
        assert indexed_files(idx) == ["README.md", "app.py", "docs/deploy.rst", "settings.toml"]
        assert stats.embedded == 4
        assert stats.skipped_binary == 1
        assert stats.skipped_too_big == 1
        everything = " ".join(r[0] for r in idx.db.execute("SELECT text FROM chunks"))
        assert "hunter2" not in everything
        assert "password = <redacted>" in everything
        vector_bytes = idx.db.execute("SELECT length(vector) FROM chunks LIMIT 1").fetchone()[0]
        assert vector_bytes == model.DIM * 4


def test_only_the_changed_file_is_embedded_again(tmp_path: Path) -> None:
    root = project(tmp_path / "shop")
    with open_index(tmp_path, root) as idx:
        idx.update(Counting(), max_files=100)
        ids_before = {r[0]: r[1] for r in idx.db.execute("SELECT id, path FROM chunks")}

    # Nothing changed: nothing read, nothing embedded.
    embed = Counting()
    with open_index(tmp_path, root) as idx:
        stats = idx.update(embed, max_files=100)
    assert (stats.embedded, stats.unchanged, embed.texts) == (0, 4, [])

    # Touched but the same content: read and hashed, not embedded.
    bump_mtime(root / "app.py")
    embed = Counting()
    with open_index(tmp_path, root) as idx:
        stats = idx.update(embed, max_files=100)
    assert (stats.embedded, stats.touched, embed.texts) == (0, 1, [])

    # One file changed: only its chunks are embedded; the others keep their rows.
    (root / "README.md").write_text("# Shop\n\nSells things and ships them.\n")
    bump_mtime(root / "README.md")
    embed = Counting()
    with open_index(tmp_path, root) as idx:
        stats = idx.update(embed, max_files=100)
        ids_after = {r[0]: r[1] for r in idx.db.execute("SELECT id, path FROM chunks")}
    assert stats.embedded == 1
    assert stats.unchanged == 3
    assert embed.texts == ["README.md > Shop\n# Shop\nSells things and ships them."]
    kept = {i for i, p in ids_before.items() if p != "README.md"}
    assert kept <= set(ids_after)


def test_removed_files_lose_their_chunks(tmp_path: Path) -> None:
    root = project(tmp_path / "shop")
    with open_index(tmp_path, root) as idx:
        idx.update(Counting(), max_files=100)
        (root / "docs" / "deploy.rst").unlink()
        stats = idx.update(Counting(), max_files=100)
        assert stats.removed == 1
        assert "docs/deploy.rst" not in indexed_files(idx)
        paths = {r[0] for r in idx.db.execute("SELECT path FROM chunks")}
        assert "docs/deploy.rst" not in paths
        assert idx.bm25('"wheel"', 5) == []


def test_a_cancelled_update_leaves_a_consistent_index_the_next_one_completes(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "shop")
    seen: list[str] = []

    def check() -> None:
        if len(seen) == 2:
            raise TaskCancelled("stop")

    with open_index(tmp_path, root) as idx:
        with pytest.raises(TaskCancelled):
            idx.update(
                Counting(), max_files=100, check=check, on_file=lambda i, n, rel: seen.append(rel)
            )
        # The first file is in; the second, cancelled while embedding, is not in at all.
        assert indexed_files(idx) == ["README.md"]
        assert {r[0] for r in idx.db.execute("SELECT path FROM chunks")} == {"README.md"}
        stats = idx.update(Counting(), max_files=100)
        assert stats.embedded == 3
        assert len(indexed_files(idx)) == 4


def test_an_index_built_another_way_is_rebuilt(tmp_path: Path) -> None:
    root = project(tmp_path / "shop")
    with open_index(tmp_path, root) as idx:
        idx.update(Counting(), max_files=100)
    other = Sizes(min_words=10, max_words=40, overlap_words=5)
    with index.Index(tmp_path / "state" / "i.sqlite", root, other, 100_000) as idx:
        stats = idx.update(Counting(), max_files=100)
    assert stats.rebuilt
    assert stats.embedded == 4


def test_one_database_per_project_folder(tmp_path: Path) -> None:
    a = index.db_path(tmp_path, tmp_path / "a")
    assert a == index.db_path(tmp_path, tmp_path / "a" / ".." / "a")
    assert a != index.db_path(tmp_path, tmp_path / "b")
    assert a.parent == tmp_path
