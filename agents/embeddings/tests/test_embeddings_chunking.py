"""Chunking per kind of file: sections, sizes, line numbers, titles."""

from __future__ import annotations

import itertools

from hyperagent_embeddings.chunking import Sizes, chunk_file, kind_of

SMALL = Sizes(min_words=5, max_words=12, overlap_words=3)


def test_kinds_follow_the_file_name() -> None:
    assert kind_of("README.md") == "markdown"
    assert kind_of("docs/index.rst") == "rst"
    assert kind_of("shop/config.py") == "python"
    assert kind_of(".env") == kind_of(".env.example") == kind_of("prod.env") == "config"
    assert kind_of("alembic.ini") == kind_of("pyproject.toml") == kind_of("ci.yml") == "config"
    assert kind_of("logo.png") is None
    assert kind_of("main.rs") is None


def test_markdown_is_cut_at_headings_and_keeps_the_heading_path() -> None:
    text = (
        "# Shop\n"  # 1
        "A service that sells things to people who want them badly enough.\n"  # 2
        "\n"
        "## Migrate\n"  # 4
        "Run alembic upgrade head to create or update the schema of the database.\n"  # 5
        "```sh\n"  # 6
        "# not a heading\n"  # 7
        "alembic upgrade head\n"  # 8
        "```\n"  # 9
        "Setup\n"  # 10
        "-----\n"  # 11
        "Install it with pip and then run it with uvicorn as usual.\n"  # 12
    )
    chunks = chunk_file("README.md", text, Sizes(min_words=5, max_words=30, overlap_words=5))
    assert [(c.title, c.start_line, c.end_line) for c in chunks] == [
        ("README.md > Shop", 1, 2),
        ("README.md > Shop > Migrate", 4, 9),
        ("README.md > Shop > Setup", 10, 12),
    ]
    assert "# not a heading" in chunks[1].text
    assert all(c.kind == "markdown" for c in chunks)


def test_small_sections_merge_until_they_reach_the_minimum() -> None:
    text = "# A\none two\n# B\nthree four\n# C\n" + " ".join(["word"] * 20) + "\n"
    chunks = chunk_file("x.md", text, SMALL)
    assert chunks[0].title == "x.md > A"
    assert (chunks[0].start_line, chunks[0].end_line) == (1, 4)
    assert "three four" in chunks[0].text
    assert all(len(c.text.split()) <= SMALL.max_words for c in chunks)


def test_a_long_section_becomes_overlapping_windows_of_equal_size() -> None:
    lines = [" ".join(f"w{i}_{j}" for j in range(5)) for i in range(10)]  # 50 words, 10 lines
    chunks = chunk_file("notes.txt", "\n".join(lines), SMALL)
    sizes = [len(c.text.split()) for c in chunks]
    assert max(sizes) <= SMALL.max_words
    assert max(sizes) - min(sizes) <= 1
    words = [c.text.split() for c in chunks]
    for before, after in itertools.pairwise(words):
        assert before[-SMALL.overlap_words :] == after[: SMALL.overlap_words]
    assert words[0][0] == "w0_0"
    assert words[-1][-1] == "w9_4"
    assert chunks[0].start_line == 1
    assert chunks[-1].end_line == 10


def test_one_long_line_is_cut_too_and_keeps_its_line_number() -> None:
    text = "# Title\n\n" + " ".join(f"w{i}" for i in range(40)) + "\n"
    chunks = chunk_file("a.md", text, SMALL)
    assert len(chunks) > 2
    assert all(c.end_line == 3 for c in chunks[1:])


def test_rst_titles_by_adornment_order() -> None:
    text = (
        "=====\n"  # 1
        "Guide\n"  # 2
        "=====\n"  # 3
        "Intro text that explains what the guide covers in some detail.\n"  # 4
        "\n"
        "Install\n"  # 6
        "-------\n"  # 7
        "Use pip to install the package into a virtual environment first.\n"  # 8
        "\n"
        "Upgrade\n"  # 10
        "-------\n"  # 11
        "Run the migrations after each upgrade so the schema stays current.\n"  # 12
    )
    chunks = chunk_file("docs/guide.rst", text, Sizes(min_words=5, max_words=30, overlap_words=5))
    assert [(c.title, c.start_line, c.end_line) for c in chunks] == [
        ("docs/guide.rst > Guide", 2, 4),
        ("docs/guide.rst > Guide > Install", 6, 8),
        ("docs/guide.rst > Guide > Upgrade", 10, 12),
    ]


PYTHON = '''\
"""Settings, read from environment variables."""

import os

#: Used when DATABASE_URL is not set.
DEFAULT_DATABASE_URL = "postgresql://app:hunter2@localhost/shop"
SECRET_KEY = "s3cr3t-value"
app = make_app()


class Settings:
    """Application settings, one field per variable."""

    database_url: str = DEFAULT_DATABASE_URL
    api_token: str = "tok-123"

    def url(self, password="pw-default"):
        # the URL with the password filled in
        x = os.environ["NOT_INDEXED_CODE"]
        return x


def helper():
    return 1
'''


def test_python_indexes_docstrings_comments_and_constants_never_code() -> None:
    chunks = chunk_file(
        "shop/config.py", PYTHON, Sizes(min_words=1, max_words=100, overlap_words=5)
    )
    text = "\n".join(c.text for c in chunks)
    assert chunks[0].title == "shop/config.py"
    assert chunks[0].start_line == 1
    assert "Settings, read from environment variables." in chunks[0].text
    assert "Used when DATABASE_URL is not set." in text
    assert "class Settings" in text
    assert "Application settings, one field per variable." in text
    assert "database_url: str = DEFAULT_DATABASE_URL" in text
    assert "def url(self, password)" in text
    assert "the URL with the password filled in" in text
    # Code, default values and secret values are not indexed.
    assert "NOT_INDEXED_CODE" not in text
    assert "make_app" not in text
    assert "pw-default" not in text
    assert "hunter2" not in text
    assert "s3cr3t-value" not in text
    assert "tok-123" not in text
    assert "SECRET_KEY = <redacted>" in text
    assert "api_token: str = <redacted>" in text
    # A function without docstring or comments says nothing worth a chunk of its own.
    assert "helper" in text


def test_python_units_that_are_big_enough_stay_apart() -> None:
    doc = " ".join(["word"] * 60)
    source = f'"""{doc}"""\n\n\ndef f():\n    """{doc}"""\n'
    chunks = chunk_file("m.py", source)
    assert [(c.title, c.start_line) for c in chunks] == [("m.py", 1), ("m.py: f", 4)]


def test_python_that_does_not_parse_gives_no_chunks() -> None:
    assert chunk_file("broken.py", "def f(:\n    pass\n") == []
