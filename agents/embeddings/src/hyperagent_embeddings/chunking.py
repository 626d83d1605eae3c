"""Files -> chunks of 50 to 100 words that say where they come from (file, lines, heading).

Each kind of file is first cut into *sections* that a person would name: a Markdown or
reStructuredText heading and what follows it, a Python module, class or function (its signature,
docstring and comments, never its code), a config file's section (its keys, secret values
redacted). Then :func:`sections_to_chunks` makes chunks of them: small sections are merged with
the next while both fit, big ones are cut into overlapping windows of words. Line numbers are
1-based and inclusive.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from . import redact

#: Bumped whenever chunking changes, so indexes built before are rebuilt.
CHUNKER_VERSION = 1

MARKDOWN = frozenset({".md", ".markdown", ".mdx"})
RST = frozenset({".rst"})
PYTHON = frozenset({".py", ".pyi"})
CONFIG = frozenset({".toml", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".env"})
TEXT = frozenset({".txt"})


@dataclass(frozen=True)
class Chunk:
    start_line: int
    end_line: int
    #: Where in the file: ``README.md > Setup > Database``, ``shop/config.py: Settings``.
    title: str
    text: str
    #: ``markdown``, ``rst``, ``python``, ``config`` or ``text``.
    kind: str


@dataclass
class Section:
    title: str
    #: (line number, line) pairs, in order.
    lines: list[tuple[int, str]] = field(default_factory=list)

    def words(self) -> int:
        return sum(len(line.split()) for _, line in self.lines)


@dataclass(frozen=True)
class Sizes:
    min_words: int = 50
    max_words: int = 100
    overlap_words: int = 20


KINDS = (
    ("markdown", MARKDOWN),
    ("rst", RST),
    ("python", PYTHON),
    ("config", CONFIG),
    ("text", TEXT),
)


def kind_of(path: str) -> str | None:
    """The kind of file ``path`` (relative, POSIX) is, or None when it is not indexed."""
    p = PurePosixPath(path)
    name = p.name.lower()
    if name == ".env" or name.startswith(".env."):
        return "config"
    return next((kind for kind, suffixes in KINDS if p.suffix.lower() in suffixes), None)


def chunk_file(path: str, text: str, sizes: Sizes = Sizes()) -> list[Chunk]:
    """The chunks of the file at ``path`` (relative, POSIX) whose contents are ``text``."""
    kind = kind_of(path)
    if kind is None:
        return []
    lines = text.splitlines()
    if kind == "markdown":
        sections, merge = markdown_sections(path, lines), True
    elif kind == "rst":
        sections, merge = rst_sections(path, lines), True
    elif kind == "python":
        sections, merge = python_sections(path, text), True
    elif kind == "config":
        sections, merge = config_sections(path, lines), True
    else:
        sections, merge = [Section(path, list(enumerate(lines, 1)))], True
    return sections_to_chunks(sections, kind, sizes, merge=merge)


# ----- sections -> chunks -----


def sections_to_chunks(
    sections: Iterable[Section], kind: str, sizes: Sizes, *, merge: bool = True
) -> list[Chunk]:
    """Merge small sections (when ``merge``), window big ones; empty ones are dropped."""
    groups: list[Section] = []
    for section in sections:
        lines = [(n, line.rstrip()) for n, line in section.lines if line.strip()]
        if not lines:
            continue
        current = Section(section.title, lines)
        last = groups[-1] if groups else None
        if (
            merge
            and last is not None
            and last.words() < sizes.min_words
            and last.words() + current.words() <= sizes.max_words
        ):
            last.lines.extend(current.lines)
        else:
            groups.append(current)
    chunks: list[Chunk] = []
    for group in groups:
        chunks.extend(_windows(group, kind, sizes))
    return chunks


def _windows(section: Section, kind: str, sizes: Sizes) -> list[Chunk]:
    words = [(n, w) for n, line in section.lines for w in line.split()]
    if len(words) <= sizes.max_words:
        return [
            Chunk(
                start_line=section.lines[0][0],
                end_line=section.lines[-1][0],
                title=section.title,
                text="\n".join(line.strip() for _, line in section.lines),
                kind=kind,
            )
        ]
    # As many windows as needed, all the same size (at most max_words), overlapping by
    # overlap_words, so no tail window is a scrap of a few words.
    step = sizes.max_words - sizes.overlap_words
    count = -(-(len(words) - sizes.overlap_words) // step)
    size = -(-(len(words) + (count - 1) * sizes.overlap_words) // count)
    stride = size - sizes.overlap_words
    out = []
    for i in range(count):
        part = words[i * stride : i * stride + size] if i < count - 1 else words[i * stride :]
        out.append(
            Chunk(
                start_line=part[0][0],
                end_line=part[-1][0],
                title=section.title,
                text=_join(part),
                kind=kind,
            )
        )
    return out


def _join(words: Sequence[tuple[int, str]]) -> str:
    """Words joined by spaces, by a newline where the line changes."""
    out: list[str] = []
    previous = words[0][0]
    for n, w in words:
        if out:
            out.append("\n" if n != previous else " ")
        out.append(w)
        previous = n
    return "".join(out)


# ----- Markdown -----

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _titled(path: str, stack: Sequence[str]) -> str:
    return " > ".join([path, *[s for s in stack if s]])


def markdown_sections(path: str, lines: Sequence[str]) -> list[Section]:
    """One section per heading (ATX ``#`` or setext underline), code fences respected."""
    stack: list[str] = []
    sections = [Section(path)]
    fence: str | None = None
    closed_at = -2
    for i, line in enumerate(lines):
        n = i + 1
        opener = _FENCE.match(line)
        after_fence = closed_at == i - 1
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence, closed_at = None, i
            sections[-1].lines.append((n, line))
            continue
        if opener:
            fence = opener.group(1)
            sections[-1].lines.append((n, line))
            continue
        atx = _ATX.match(line)
        setext = (
            i + 1 < len(lines)
            and line.strip()
            and not line.startswith(("    ", "\t", "- ", "* ", "> "))
            and _SETEXT.match(lines[i + 1])
            # Not the continuation of a paragraph (whose underline CommonMark would also take).
            and (i == 0 or not lines[i - 1].strip() or _ATX.match(lines[i - 1]) or after_fence)
        )
        if atx or setext:
            if atx:
                level, title = len(atx.group(1)), (atx.group(2) or "").strip()
            else:
                level = 1 if lines[i + 1].strip().startswith("=") else 2
                title = line.strip()
            del stack[level - 1 :]
            stack.extend([""] * (level - 1 - len(stack)))
            stack.append(title)
            sections.append(Section(_titled(path, stack)))
        elif _SETEXT.match(line) and sections[-1].lines and len(sections[-1].lines) == 1:
            continue  # the underline of the setext heading just started
        sections[-1].lines.append((n, line))
    return sections


# ----- reStructuredText -----

_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


def rst_sections(path: str, lines: Sequence[str]) -> list[Section]:
    """One section per title (text underlined, optionally overlined, by a punctuation line);
    levels follow the order in which the adornment styles first appear, as docutils does."""
    styles: list[tuple[str, bool]] = []
    stack: list[str] = []
    sections = [Section(path)]
    skip: set[int] = set()
    for i, line in enumerate(lines):
        if i in skip:
            continue
        under = lines[i + 1] if i + 1 < len(lines) else ""
        m = _ADORNMENT.match(under)
        text = line.strip()
        if text and not _ADORNMENT.match(line) and m and len(under.strip()) >= min(len(text), 3):
            over = i > 0 and lines[i - 1].strip() == under.strip()
            style = (m.group(1), over)
            if style not in styles:
                styles.append(style)
            level = styles.index(style) + 1
            del stack[level - 1 :]
            stack.extend([""] * (level - 1 - len(stack)))
            stack.append(text)
            if over and sections[-1].lines and sections[-1].lines[-1][0] == i:
                sections[-1].lines.pop()  # the overline belongs to the new title
            sections.append(Section(_titled(path, stack), [(i + 1, line)]))
            skip.add(i + 1)
            continue
        sections[-1].lines.append((i + 1, line))
    return sections


# ----- Python -----

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def python_sections(path: str, source: str) -> list[Section]:
    """The module (docstring, top-level comments, constants) and each class and function (its
    signature, docstring, comments and, for a class, its fields), nested names qualified. Code is
    not indexed: code search is another tool's job. A file that does not parse gives nothing."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    defs: list[tuple[str, _Def]] = []

    def walk(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, _Def):
                name = f"{prefix}{node.name}"
                defs.append((name, node))
                walk(node.body, f"{name}.")

    walk(tree.body, "")
    module = Section(path)
    module.lines.extend(_docstring(tree, 1))
    for node in tree.body:
        module.lines.extend(_assignment(node, constants_only=True))
    units: dict[int, Section] = {}
    for name, node in defs:
        section = Section(f"{path}: {name}", [(node.lineno, _signature(node))])
        section.lines.extend(_docstring(node, node.lineno))
        if isinstance(node, ast.ClassDef):
            for child in node.body:
                section.lines.extend(_assignment(child, constants_only=False))
        units[id(node)] = section
    for row, comment in _comments(source):
        owner = _innermost(defs, row)
        target = module if owner is None else units[id(owner)]
        target.lines.append((row, comment))
    out = [module, *(units[id(node)] for _, node in defs)]
    for section in out:
        section.lines.sort(key=lambda pair: pair[0])
    return out


def _signature(node: _Def) -> str:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    a = node.args
    # Names only: default values may hold what must not be indexed.
    names = [x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{keyword} {node.name}({', '.join(names)})"


def _docstring(node: ast.Module | _Def, fallback_line: int) -> list[tuple[int, str]]:
    doc = ast.get_docstring(node, clean=True)
    if not doc or not node.body:
        return []
    first = getattr(node.body[0], "lineno", fallback_line)
    return [(first + i, redact.redact_urls(line)) for i, line in enumerate(doc.splitlines())]


_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
_MAX_VALUE_CHARS = 200


def _assignment(node: ast.stmt, *, constants_only: bool) -> list[tuple[int, str]]:
    """``NAME = "literal"`` at module level, ``field: type = value`` in a class; a secret-looking
    name keeps its name only, a value that is not a literal or name is left out."""
    value: ast.expr | None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, annotation, value = node.targets[0], None, node.value
    elif isinstance(node, ast.AnnAssign):
        target, annotation, value = node.target, node.annotation, node.value
    else:
        return []
    if not isinstance(target, ast.Name):
        return []
    name = target.id
    if constants_only and not _CONSTANT.match(name):
        return []
    text = name + (f": {ast.unparse(annotation)}" if annotation is not None else "")
    if value is not None:
        shown = _literal(value)
        if shown is not None:
            text += " = " + redact.value(name, shown)
        elif constants_only or annotation is None:
            return []
    return [(node.lineno, text)]


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant | ast.JoinedStr | ast.Name | ast.Attribute):
        text = ast.unparse(node)
        return text if len(text) <= _MAX_VALUE_CHARS else None
    return None


_ASSIGNMENT_IN_COMMENT = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)\s*[:=]\s*(?P<value>\S.*)$")


def _comments(source: str) -> list[tuple[int, str]]:
    """Comments with their line numbers (``#`` and ``#:`` removed); a commented-out secret
    assignment keeps its key only."""
    out: list[tuple[int, str]] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        text = tok.string.lstrip("#:!").strip()
        if not text or text.startswith(("noqa", "type:", "pragma", "fmt:", "ruff:", "pyright:")):
            continue
        m = _ASSIGNMENT_IN_COMMENT.match(text)
        if m and redact.looks_secret(m.group("key")):
            text = f"{m.group('key')} = {redact.REDACTED}"
        out.append((tok.start[0], redact.redact_urls(text)))
    return out


def _innermost(defs: Sequence[tuple[str, _Def]], row: int) -> _Def | None:
    found: _Def | None = None
    for _, node in defs:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        if start <= row <= end and (found is None or node.lineno >= found.lineno):
            found = node
    return found


# ----- config files: TOML, YAML, INI, .env -----

_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(?:[#;].*)?$")
_KEY_VALUE = re.compile(
    r"^(?P<indent>\s*)(?P<lead>(?:export\s+|-\s+)?)"
    r"(?P<key>\"[^\"]*\"|'[^']*'|[A-Za-z0-9_][\w.\-]*)"
    r"(?P<sep>\s*(?:=|:(?=\s|$))\s*)(?P<value>.*)$"
)
_COMMENT = re.compile(r"^\s*[#;]")


def config_sections(path: str, lines: Sequence[str]) -> list[Section]:
    """One section per ``[section]`` (TOML, INI) or top-level key with children (YAML); values of
    secret-looking keys, and everything nested under them, become ``<redacted>``."""
    sections = [Section(path)]
    #: (indent, secret) of the keys the current line may be nested under (YAML).
    parents: list[tuple[int, bool]] = []
    section_secret = False
    #: Inside a multi-line value of a secret key (a TOML array or string): its closing text.
    closing: str | None = None
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        if not line.strip():
            continue
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("- "):
            name = header.group("name").strip()
            section_secret = redact.looks_secret(name)
            parents = []
            sections.append(Section(f"{path} [{name}]", [(n, line.strip())]))
            continue
        if _COMMENT.match(line):
            body = line.lstrip()[1:].strip()
            m = _KEY_VALUE.match(body)
            if m and redact.looks_secret(m.group("key")):
                line = f"# {m.group('key').strip(chr(34) + chr(39))} = {redact.REDACTED}"
            sections[-1].lines.append((n, redact.redact_urls(line.strip())))
            continue
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        inherited = section_secret or any(secret for _, secret in parents)
        m = _KEY_VALUE.match(line)
        if m is None:
            # A continuation (a YAML list item, a TOML array's line) of the key above it.
            sections[-1].lines.append(
                (n, redact.REDACTED if inherited else redact.redact_urls(line))
            )
            continue
        key = m.group("key").strip("\"'")
        secret = inherited or redact.looks_secret(key)
        value = m.group("value")
        if indent == 0 and not value.strip() and m.group("sep").strip() == ":":
            # A top-level YAML key with children: a section of its own.
            sections.append(Section(f"{path} [{key}]"))
        shown = redact.REDACTED if secret and value.strip() else redact.value(key, value)
        if secret:
            closing = _unclosed(value)
        sections[-1].lines.append(
            (n, f"{m.group('lead')}{m.group('key')}{m.group('sep')}{shown}".strip())
        )
        parents.append((indent, secret))
    return sections


def _unclosed(value: str) -> str | None:
    """The text that closes a multi-line TOML value that ``value`` opens, if it opens one."""
    v = value.strip()
    for quote in ('"""', "'''"):
        if v.startswith(quote) and v.count(quote) == 1:
            return quote
    if v.startswith("[") and v.count("[") > v.count("]"):
        return "]"
    return None
