"""Answers and rendering, with copier's semantics, entirely in memory.

:func:`resolve` turns the person's answers into the full set a template renders with (defaults,
``when``, types, choices, validators), reporting every problem at once. :func:`render` produces
every file and folder of the project in memory, so a template that fails anywhere writes
nothing; :func:`write` then puts the result in a directory.
"""

from __future__ import annotations

import base64
import itertools
import json
import keyword
import os
import re
import shlex
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import pathspec
import yaml
from jinja2.sandbox import SandboxedEnvironment

from .template import MISSING, Question, Template, TemplateError

#: Names the bootstrapper checks itself, beyond a template's own validators (``names`` in
#: hyperagent.yml maps a question to one of these).
NAME_RULES = ("python-package", "python-distribution")


class AnswersError(Exception):
    """Answers the template cannot take: every problem, each as (question, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))


# --- the Jinja environment: copier's settings and the filters its templates use -------------


def _to_yaml(value: Any, **kw: Any) -> str:
    flow = kw.pop("default_flow_style", None)
    return str(yaml.dump(value, allow_unicode=True, default_flow_style=flow, **kw))


def _to_nice_yaml(value: Any, indent: int = 4, **kw: Any) -> str:
    return str(yaml.dump(value, indent=indent, allow_unicode=True, default_flow_style=False, **kw))


def _regex_replace(
    value: str, pattern: str, replacement: str = "", ignorecase: bool = False
) -> str:
    return re.sub(pattern, replacement, value, flags=re.I if ignorecase else 0)


def _regex_search(value: str, pattern: str, ignorecase: bool = False) -> str | None:
    found = re.search(pattern, value, flags=re.I if ignorecase else 0)
    return found.group(0) if found else None


def _ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


# The part of copier's default filters (jinja2-ansible-filters' core set) that templates use; a
# template calling another one fails to compile with "No filter named ..." and its file:line.
FILTERS: dict[str, Callable[..., Any]] = {
    "to_yaml": _to_yaml,
    "to_nice_yaml": _to_nice_yaml,
    "to_json": json.dumps,
    "to_nice_json": lambda v, indent=4, **kw: json.dumps(v, indent=indent, sort_keys=True, **kw),
    "from_json": json.loads,
    "from_yaml": yaml.safe_load,
    "regex_replace": _regex_replace,
    "regex_search": _regex_search,
    "regex_escape": re.escape,
    "b64encode": lambda s: base64.b64encode(str(s).encode()).decode(),
    "b64decode": lambda s: base64.b64decode(str(s)).decode(),
    "basename": os.path.basename,
    "dirname": os.path.dirname,
    "quote": lambda s: shlex.quote(str(s)),
    "ternary": _ternary,
    "bool": lambda v: _to_bool(v),  # noqa: PLW0108 - defined further down
}


@cache
def _environment(root: Path, envops_json: str) -> SandboxedEnvironment:
    # One compiled environment per template (and settings): rendering the same template again
    # reuses its compiled files, which is most of the cost.
    envops = json.loads(envops_json)
    envops.setdefault("keep_trailing_newline", True)
    undefined = envops.pop("undefined", None)
    if undefined == "jinja2.StrictUndefined":
        envops["undefined"] = jinja2.StrictUndefined
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(root.resolve())), auto_reload=True, **envops
    )
    env.filters.update(FILTERS)
    return env


def environment(template: Template) -> SandboxedEnvironment:
    return _environment(template.root, json.dumps(dict(template.envops), sort_keys=True))


@lru_cache(maxsize=4096)
def _from_string(root: Path, envops_json: str, source: str) -> jinja2.Template:
    # Manifest strings (defaults, validators, paths) are compiled once, like the files are:
    # compiling is what costs, and a validator can be long.
    return _environment(root, envops_json).from_string(source)


def compile_string(template: Template, source: str) -> jinja2.Template:
    return _from_string(template.root, json.dumps(dict(template.envops), sort_keys=True), source)


def _where(template: Template, err: jinja2.TemplateError, fallback: str) -> str:
    filename = getattr(err, "filename", None)
    name = getattr(err, "name", None)
    line = getattr(err, "lineno", None)
    if filename:
        try:
            name = str(Path(filename).resolve().relative_to(template.root.resolve()))
        except ValueError:
            name = filename
    where = name or fallback
    return f"{where}:{line}" if line else where


def render_string(template: Template, source: str, context: Mapping[str, Any], where: str) -> str:
    """Render one string of the manifest or a path; errors name ``where``."""
    try:
        return compile_string(template, source).render(**context)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"{where}", f"{err.message} (line {err.lineno} of {source!r})") from err
    except jinja2.TemplateError as err:
        raise TemplateError(where, f"{type(err).__name__}: {err}") from err


# --- answers ------------------------------------------------------------------------------------


def _to_bool(value: Any) -> bool:
    """copier's cast_to_bool: numbers by value, YAML's yes/no words, else truthiness."""
    if isinstance(value, bool):
        return value
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if not lower or lower in {"n", "no", "f", "false", "off", "~", "null", "none"}:
            return False
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
    return bool(value)


def _cast(q: Question, value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per type
    """The value as the question's type, or ValueError saying what was expected."""
    kind = q.type
    if value is None and kind not in {"json", "yaml"}:
        raise ValueError(f"must be a {kind}, not empty")
    if kind == "bool":
        return _to_bool(value)
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be a whole number (got {value!r})")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number (got {value!r})") from None
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"must be a number (got {value!r})")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number (got {value!r})") from None
    if kind in {"str", "path"}:
        if isinstance(value, dict | list):
            raise ValueError(f"must be text (got {type(value).__name__})")
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"is not valid JSON: {err}") from None
    if kind == "yaml" and isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ValueError(f"is not valid YAML: {err}") from None
    return value


@dataclass
class Answers:
    """The answers a template renders with."""

    #: Every value, hidden ones (``when`` false) included, in question order.
    values: dict[str, Any]
    #: What goes into the answers file: not hidden, not secret.
    remembered: dict[str, Any]


def check_name(rule: str, value: Any) -> str:  # noqa: PLR0911 - one return per rule broken
    """An error message when ``value`` breaks the naming ``rule``, else ''."""
    text = str(value)
    if rule == "python-package":
        if not text.isidentifier() or not text.isascii():
            return (
                f"{text!r} is not a valid Python package name: use letters, digits and _,"
                " not starting with a digit"
            )
        if keyword.iskeyword(text) or keyword.issoftkeyword(text):
            return f"{text!r} is a Python keyword"
        if text != text.lower():
            return f"{text!r} should be lowercase (PEP 8 package names)"
        if text in sys.stdlib_module_names:
            return f"{text!r} would shadow Python's standard module of that name"
        return ""
    if rule == "python-distribution":
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", text):
            return (
                f"{text!r} is not a valid Python project name: letters, digits, '.', '_' and '-',"
                " starting and ending with a letter or digit"
            )
        return ""
    raise ValueError(f"unknown name rule {rule!r}; known: {', '.join(NAME_RULES)}")


def _choice_values(template: Template, q: Question, context: Mapping[str, Any]) -> list[Any]:
    assert q.choices is not None  # noqa: S101 - callers check
    where = f"{template.manifest.name}:{q.line}"
    values = []
    for _label, raw in q.choices:
        value = raw["value"] if isinstance(raw, Mapping) and "value" in raw else raw
        if isinstance(value, str):
            value = render_string(template, value, context, where)
        values.append(_cast(q, value))
    return values


def _parse(template: Template, q: Question, value: Any, context: Mapping[str, Any]) -> Any:
    if q.multiselect:
        items = value if isinstance(value, list) else yaml.safe_load(str(value)) or []
        if not isinstance(items, list):
            raise ValueError(f"must be a list (got {value!r})")
        cast = [_cast(q, v) for v in items]
        allowed = _choice_values(template, q, context) if q.choices is not None else cast
        wrong = [v for v in cast if v not in allowed]
        if wrong:
            raise ValueError(f"{wrong!r} not among the choices {allowed!r}")
        return [v for v in allowed if v in cast]
    cast = _cast(q, value)
    if q.choices is not None:
        allowed = _choice_values(template, q, context)
        if cast not in allowed:
            raise ValueError(f"{cast!r} is not one of the choices {allowed!r}")
    return cast


def base_context(template: Template, dst_name: str) -> dict[str, Any]:
    """The variables copier offers besides the answers."""
    return {
        "_copier_conf": {
            "answers_file": template.answers_file,
            "src_path": str(template.root),
            "dst_path": dst_name,
            "sep": os.sep,
            "os": "linux",
        },
        "_folder_name": dst_name,
        "_copier_python": sys.executable,
    }


def resolve(  # noqa: PLR0912 - copier's rules, in its order
    template: Template,
    given: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
    dst_name: str = "",
) -> Answers:
    """The answers to render with, or :class:`AnswersError` listing every problem.

    Follows copier: questions are settled in manifest order, each seeing the earlier answers;
    a question whose ``when`` is false is not stored in the answers file (a given answer is
    still used, a default otherwise); a default may be Jinja; a validator renders to an error
    message, empty when the answer is fine. ``names`` adds the bootstrapper's own naming rules.
    """
    problems: list[tuple[str, str]] = []
    unknown = [k for k in given if k not in template.questions]
    for key in unknown:
        asked = ", ".join(template.questions) or "nothing"
        problems.append((key, f"unknown answer; template {template.name!r} asks: {asked}"))
    values: dict[str, Any] = {}
    remembered: dict[str, Any] = {}
    base = base_context(template, dst_name)
    for name, q in template.questions.items():
        where = f"{template.manifest.name}:{q.line}"
        context = {**base, **values}
        when = q.when
        if isinstance(when, str):
            when = _to_bool(render_string(template, when, context, f"{where} (when)"))
        if name in given:
            raw = given[name]
        elif q.default is MISSING:
            if when:
                help_text = f" ({q.help.strip()})" if q.help.strip() else ""
                problems.append((name, f"required: the template has no default{help_text}"))
            continue
        else:
            raw = _render_default(template, q.default, context, f"{where} (default)")
        try:
            value = _parse(template, q, raw, context)
        except ValueError as err:
            problems.append((name, str(err)))
            continue
        if when and q.validator:
            message = render_string(
                template, q.validator, {**context, name: value}, f"{where} (validator)"
            )
            if message.strip():
                problems.append((name, message.strip()))
                continue
        rule = (names or {}).get(name)
        if rule and when:
            message = check_name(rule, value)
            if message:
                problems.append((name, message))
                continue
        values[name] = value
        if when and not q.secret:
            remembered[name] = value
    if problems:
        raise AnswersError(problems)
    return Answers(values=values, remembered=remembered)


def _render_default(
    template: Template, default: Any, context: Mapping[str, Any], where: str
) -> Any:
    if isinstance(default, str):
        return render_string(template, default, context, where)
    if isinstance(default, list):
        return [_render_default(template, v, context, where) for v in default]
    return default


# --- files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: bytes
    mode: int


@dataclass
class Rendered:
    """A whole project in memory: folders (sorted parents first) and files."""

    dirs: list[str] = field(default_factory=list)
    files: list[RenderedFile] = field(default_factory=list)

    def write(self, root: Path) -> None:
        """Create it under ``root`` (which must exist), each file with its template's mode."""
        base = str(root)
        made: set[str] = set()
        for rel in self.dirs:
            os.makedirs(os.path.join(base, rel), exist_ok=True)
            made.add(rel)
        for f in self.files:
            parent = os.path.dirname(f.path)
            if parent and parent not in made:
                os.makedirs(os.path.join(base, parent), exist_ok=True)
                made.add(parent)
            mode = stat.S_IMODE(f.mode)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            fd = os.open(os.path.join(base, f.path), flags, mode)
            try:
                view = memoryview(f.content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)  # exactly the template's mode, whatever the umask
            finally:
                os.close(fd)


def _scantree(
    root: str, rel: tuple[str, ...], follow_symlinks: bool
) -> Iterator[tuple[os.DirEntry[str], tuple[str, ...], frozenset[str]]]:
    """Each entry with its path parts below the content root and its folder's names, in the
    order copier walks a template (os.scandir, depth first)."""
    with os.scandir(root) as it:
        entries = list(it)
    names = frozenset(e.name for e in entries)
    for entry in entries:
        parts = (*rel, entry.name)
        yield entry, parts, names
        if entry.is_dir(follow_symlinks=follow_symlinks):
            yield from _scantree(entry.path, parts, follow_symlinks)


def _matcher(
    template: Template, patterns: tuple[str, ...], context: Mapping[str, Any]
) -> Callable[[str], bool]:
    lines: list[str] = []
    for pattern in patterns:
        rendered = render_string(template, pattern, context, f"{template.manifest.name} (_exclude)")
        lines.extend(re.split(r"\r\n|\r|\n", rendered))
    kind = "gitignore" if int(pathspec.__version__.split(".")[0]) >= 1 else "gitwildmatch"
    spec = pathspec.PathSpec.from_lines(kind, (unicodedata.normalize("NFD", p) for p in lines))
    return spec.match_file


def render(
    template: Template,
    answers: Answers,
    dst_name: str,
    *,
    src_path: str | None = None,
    commit: str | None = None,
) -> Rendered:
    """Every folder and file of the project, or :class:`TemplateError` (file:line) — nothing
    half-made either way. ``src_path`` and ``commit`` are what the answers file records as the
    template's origin (copier's ``_src_path``, ``_commit``)."""
    origin: dict[str, Any] = {"_commit": commit} if commit else {}
    origin["_src_path"] = src_path if src_path is not None else str(template.root)
    context: dict[str, Any] = {
        **base_context(template, dst_name),
        **answers.values,
        "_copier_answers": {**origin, **answers.remembered},
    }
    env = environment(template)
    root = template.content_root
    suffix = template.suffix
    answers_path = render_string(template, template.answers_file, context, "_answers_file")
    excluded = _matcher(template, template.exclude, context)
    out = Rendered()
    seen: set[str] = set()
    follow = not template.preserve_symlinks
    for entry, rel_parts, siblings in _scantree(str(root), (), follow):
        name = entry.name
        is_template = bool(suffix) and name.endswith(suffix)
        if suffix and not is_template and name + suffix in siblings:
            continue  # a templated sibling wins
        parts = (*rel_parts[:-1], name[: -len(suffix)]) if is_template else rel_parts
        rendered_parts: list[str] = []
        for i, part in enumerate(parts):
            if "{" in part:
                where = "/".join((template.subdirectory, *rel_parts[: i + 1])).lstrip("/")
                part = render_string(template, part, context, where)  # noqa: PLW2901
            if not part:
                rendered_parts = []
                break
            rendered_parts.append(part)
        if not rendered_parts:
            continue
        path = PurePosixPath(*rendered_parts)
        if path.is_absolute() or ".." in path.parts:
            where = "/".join(rel_parts)
            raise TemplateError(where, f"renders to {str(path)!r}, outside the project")
        dst = answers_path if rendered_parts[-1] == answers_path else str(path)
        if dst in seen or excluded(dst):
            continue
        seen.add(dst)
        if entry.is_dir(follow_symlinks=follow):
            out.dirs.append(dst)
            continue
        src = Path(entry.path)
        content = _content(
            template, env, src=src, rel=Path(*rel_parts), is_template=is_template, context=context
        )
        out.files.append(RenderedFile(dst, content, entry.stat(follow_symlinks=follow).st_mode))
    return out


def _content(
    template: Template,
    env: SandboxedEnvironment,
    *,
    src: Path,
    rel: Path,
    is_template: bool,
    context: Mapping[str, Any],
) -> bytes:
    """A file's bytes: rendered when it carries the suffix, else copied as they are."""
    if not is_template:
        return src.read_bytes()
    name = str(PurePosixPath(template.subdirectory, *rel.parts))
    try:
        return env.get_template(name).render(**context).encode()
    except UnicodeDecodeError as err:
        raise TemplateError(
            name, f"a {template.suffix} file must be UTF-8 text ({err.reason})"
        ) from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(_where(template, err, name), err.message or str(err)) from err
    except jinja2.TemplateError as err:
        line = _runtime_line(err, template)
        raise TemplateError(
            f"{name}:{line}" if line else name, f"{type(err).__name__}: {err}"
        ) from err


def _runtime_line(err: Exception, template: Template) -> int | None:
    """The template line a render-time error came from (Jinja maps its frames to lines)."""
    tb = err.__traceback__
    line = None
    root = str(template.root.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def variants(template: Template, fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Answers for every distinct combination of the template's closed questions (choices and
    booleans), the others at their defaults and ``fixed`` applied; each combination once, however
    many hidden (``when`` false) answers it differs in. Required open questions must be in
    ``fixed``."""
    fixed = dict(fixed or {})
    axes: list[tuple[str, list[Any]]] = []
    for name, q in template.questions.items():
        if name in fixed or q.multiselect:
            continue
        if q.choices is not None:
            axes.append((name, [v["value"] if isinstance(v, Mapping) else v for _, v in q.choices]))
        elif q.type == "bool":
            axes.append((name, [False, True]))
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*(values for _, values in axes)):
        given = {**fixed, **dict(zip((n for n, _ in axes), combo, strict=True))}
        try:
            answers = resolve(template, given)
        except AnswersError:
            continue  # a combination the template's validators rule out
        key = json.dumps(answers.remembered, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append({k: v for k, v in given.items() if k in answers.remembered or k in fixed})
    return out
