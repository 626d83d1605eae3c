"""A copier-format template: its manifest (``copier.yml``), its questions, and how to check it.

We read copier's format ourselves instead of calling the ``copier`` library: copier imports
about 0.4 s of modules and runs git and a questionnaire on every copy, while a bootstrap must
render in milliseconds, inside a sandbox, and never run a template's own code (whatever its
author chose) before the person allows it. What we support is the part of copier's format that
decides the output of a fresh copy: questions (types, templated too, defaults, choices and their
own validators, validators, ``when``, ``ask``, secrets), ``_subdirectory`` (templated too),
``_templates_suffix``, ``_exclude``, ``_skip_if_exists``, ``_answers_file``, ``_envops``,
``_message_after_copy``, ``_preserve_symlinks``, ``_min_copier_version``, multi-document
manifests with copier's ``!include`` (in documents and values, never reaching outside the
template folder), templated and conditional paths; a folder without a manifest is a template
with no questions, as in copier. A
template's own code — ``_jinja_extensions`` and ``_tasks`` — is read here and runs only once the
person allows it (see :attr:`Template.trusted` and the agent), inside the task's sandbox.
``_external_data`` is refused with the reason; ``_migrations`` are reported and not run.
``tests/test_thirdparty_parity.py`` renders real third-party templates with copier and with us.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

#: The manifest's usual names. copier takes any ``copier.*`` file whose last extension is
#: ``.yml`` or ``.yaml`` in any case (see :func:`_manifests`), and a folder without one is a
#: template with no questions.
MANIFEST_NAMES = ("copier.yml", "copier.yaml")
#: The copier release whose semantics we render with (the parity tests run it): a template whose
#: ``_min_copier_version`` is later may use what we do not know.
COPIER_VERSION = "9.19.1"
#: HyperAgent's own file beside the manifest: how to check a generated project (copier ignores it).
POSTCHECK_NAME = "hyperagent.yml"
#: What copier leaves out of a template that has no ``_subdirectory``.
DEFAULT_EXCLUDE = (
    "copier.yaml",
    "copier.yml",
    "~*",
    "*.py[co]",
    "__pycache__",
    ".git",
    ".DS_Store",
    ".svn",
)
QUESTION_TYPES = ("str", "int", "float", "bool", "json", "yaml", "path")
#: Names copier gives every template (its deprecated ``now()`` and ``make_secret()``): copier
#: refuses a question of that name.
RESERVED_NAMES = ("now", "make_secret")
#: The keys of a question copier reads; it ignores others, and so do we, saying so.
QUESTION_KEYS = (
    "type",
    "ask",
    "help",
    "default",
    "choices",
    "multiselect",
    "validator",
    "when",
    "secret",
    "placeholder",
    "multiline",
    "qmark",
)
#: Settings we honour; the others below are named when refused or ignored.
SETTINGS = frozenset(
    {
        "subdirectory",
        "templates_suffix",
        "exclude",
        "skip_if_exists",
        "answers_file",
        "envops",
        "message_before_copy",
        "message_after_copy",
        "message_before_update",
        "message_after_update",
        "min_copier_version",
        "secret_questions",
        "preserve_symlinks",
        "jinja_extensions",
        "tasks",
    }
)
REFUSED_SETTINGS = {
    "external_data": "it reads files outside the template",
}
IGNORED_SETTINGS = {
    "migrations": "migrations apply to `copier update`, not to a new project",
}


class TemplateError(Exception):
    """The template cannot be used; ``where`` is ``file:line`` (relative to the template)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (type(self), (self.where, self.message))


class Missing:
    """No default: the question must be answered."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True)
class Question:
    """One question of ``copier.yml``."""

    name: str
    #: Its type as the answers schema offers it: copier's, except that a question with neither
    #: ``type`` nor ``default`` is ``str`` here (see ``untyped``) and a templated one ``yaml``
    #: until rendered (see ``type_template``).
    type: str
    #: ``file:line`` of the question in the manifest (or the file it includes).
    where: str
    help: str = ""
    default: Any = MISSING
    #: (label, value) pairs, or None when the answer is free (or the choices are Jinja).
    choices: tuple[tuple[Any, Any], ...] | None = None
    #: ``choices`` given as Jinja rendering to YAML (copier renders them with the answers).
    choices_template: str = ""
    multiselect: bool = False
    validator: str = ""
    when: str | bool = True
    secret: bool = False
    placeholder: str = ""
    #: copier's ``ask``: false (or Jinja rendering false) takes the default without asking, and
    #: leaves a question without one unanswered (undefined) instead of required.
    ask: str | bool = True
    #: ``type`` given as Jinja (``"{{ 'int' if n else 'str' }}"``): rendered with the answers
    #: before the question is settled, as copier renders it.
    type_template: str = ""
    #: Neither ``type`` nor ``default``: copier infers ``yaml`` (it infers a type from the
    #: default's), so a text answer is parsed as YAML (``3.10`` is 3.1, ``yes`` true).
    untyped: bool = False


@dataclass(frozen=True)
class PostCheck:
    """``hyperagent.yml``: how to install, test and serve a project made from the template.

    Strings are Jinja, rendered with the answers; ``{port}`` in ``serve`` is a free port.
    """

    install: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    serve: tuple[str, ...] = ()
    health: str = ""
    start_hint: str = ""
    description: str = ""
    #: The Python version for the project's environment (Jinja; empty: the default python3).
    python: str = ""
    #: Question -> naming rule the bootstrapper enforces (see render.NAME_RULES).
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One of ``_tasks``: a command run in the new project once it is rendered (copier's
    semantics: a string runs through the shell, a list is the argument vector; each part, the
    condition and the folder are Jinja)."""

    command: str | tuple[str, ...]
    when: str | bool = True
    working_directory: str = "."
    #: ``file:line`` in the manifest.
    where: str = ""


@dataclass(frozen=True)
class Migration:
    """One of ``_migrations``: a command run when a project is updated to a version at or past
    ``version`` from one before it (every update when it has none), before the update is worked
    out or after it (copier's ``_stage``; by default after)."""

    command: str | tuple[str, ...]
    version: str | None = None
    #: Jinja or a boolean; ``None`` is copier's default, ``_stage == "after"``.
    when: str | bool | None = None
    #: Copier's older form fixes the stage: ``before`` or ``after`` (``None``: ``when`` says).
    stage: str | None = None
    working_directory: str = "."
    #: ``file:line #n`` in the manifest.
    where: str = ""

    @property
    def shown(self) -> str:
        """In a few words: its version and command, unrendered."""
        said = _words(self.command)
        return f"{self.version}: {said}" if self.version is not None else said


@dataclass(frozen=True)
class Template:
    """A parsed template directory."""

    root: Path
    #: Its ``copier.yml`` (or another name copier finds); None for a folder without one, which
    #: copier renders with no questions.
    manifest: Path | None
    questions: Mapping[str, Question]
    subdirectory: str = ""
    suffix: str = ".jinja"
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    skip_if_exists: tuple[str, ...] = ()
    answers_file: str = ".copier-answers.yml"
    envops: Mapping[str, Any] = field(default_factory=dict)
    message_after_copy: str = ""
    message_after_update: str = ""
    preserve_symlinks: bool = False
    postcheck: PostCheck | None = None
    #: Settings present but not acted on, each with why.
    warnings: tuple[str, ...] = ()
    #: ``_migrations``: commands run when a project is updated across their version.
    migrations: tuple[Migration, ...] = ()
    #: The files the manifest includes (``!include``), to notice when they change.
    sources: tuple[Path, ...] = ()
    #: ``_jinja_extensions``: Python code loaded into the renderer (import names, or
    #: ``file.py:Class`` inside the template through copier-template-extensions' loader).
    extensions: tuple[str, ...] = ()
    #: ``_tasks``: commands run in the project after rendering.
    tasks: tuple[Task, ...] = ()
    #: The person allowed this template's code (its extensions) to run; until then a template
    #: with extensions does not render.
    trusted: bool = False
    #: Its extensions run in a renderer process of their own, narrowed to writing a private
    #: folder (:mod:`hyperagent_bootstrapper.confined`): the agent's way; the CLI's is copier's.
    confined: bool = False

    def extension_files(self) -> tuple[Path, ...]:
        """The template's own files its extensions load (``helpers/ext.py:Class``), sorted."""
        files = set()
        for entry in self.extensions:
            path = entry.split(":", 1)[0] if ":" in entry else ""
            if path.endswith(".py"):
                files.add(self.root / path)
        return tuple(sorted(files))

    def code_digest(self) -> str:
        """SHA-256 over the extensions' names and their files' bytes: what a person who allowed
        them allowed (changed code is other code, and is asked about again)."""
        h = hashlib.sha256("\n".join(self.extensions).encode())
        for path in self.extension_files():
            h.update(b"\0" + path.relative_to(self.root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() if path.is_file() else b"(missing)")
        return h.hexdigest()

    @property
    def name(self) -> str:
        return self.root.name


# libyaml's parser when PyYAML has it (its wheels do): several times faster than pure Python.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Settings whose values copier joins across a manifest's documents instead of the last winning.
MERGED_SETTINGS = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A safe loader with copier's ``!include`` (inside ``root`` only) and no other tag."""

    root: Path = Path()
    rel: str = ""
    #: Every file read so far (the manifest and what it includes).
    read: list[Path]
    #: The files being read, outermost first (an include of one of them is a loop).
    reading: tuple[Path, ...] = ()


def _refuse_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    raise TemplateError(
        f"{loader.rel}:{node.start_mark.line + 1}",
        f"YAML tag {node.tag!r} is not supported (copier knows only !include)",
    )


def _include_value(loader: _Loader, node: yaml.Node) -> Any:
    """``key: !include pattern``: as copier, every document of every matching file, in a list."""
    where = f"{loader.rel}:{node.start_mark.line + 1}"
    if not isinstance(node, yaml.ScalarNode):
        raise TemplateError(
            where, "`!include` takes a file name or glob pattern, not a list or map"
        )
    return [
        doc
        for path in _include_files(loader.root, str(node.value), where)
        for doc, _, _ in _documents(loader.root, path, loader.read, loader.reading, where)
    ]


def _flatten(items: list[Any]) -> list[Any]:
    """copier's ``lflatten``: lists (at any depth) spliced into their parent."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, list | tuple):
            out.extend(_flatten(list(item)))
        else:
            out.append(item)
    return out


_Loader.add_constructor("!include", _include_value)
_Loader.add_multi_constructor("!", _refuse_tag)


def _include_files(root: Path, pattern: str, where: str) -> list[Path]:
    """The files ``!include pattern`` reads: copier's glob below the template folder, and never a
    file outside it (an absolute path, ``..`` or a symlink pointing out is refused)."""
    if not pattern.strip() or Path(pattern).is_absolute():
        raise TemplateError(
            where, f"`!include {pattern}`: give a path relative to the template folder"
        )
    base = root.resolve()
    try:
        # Path.glob as copier calls it, so the files come in the order copier reads them.
        matches = list(base.glob(pattern))
    except (ValueError, OSError) as err:
        raise TemplateError(where, f"`!include {pattern}`: {err}") from err
    files = []
    for match in matches:
        try:
            real = match.resolve()
        except (OSError, RuntimeError) as err:  # RuntimeError: a loop of links (Python < 3.13)
            raise TemplateError(where, f"`!include {pattern}`: {err}") from err
        if not real.is_relative_to(base):
            raise TemplateError(
                where,
                f"`!include {pattern}` reaches {real}, outside the template folder;"
                " an included file must be inside it",
            )
        if not real.is_file():
            kind = "a folder" if real.is_dir() else "not a file (a dangling link?)"
            raise TemplateError(
                where, f"`!include {pattern}` matches {match.relative_to(base)}, {kind}"
            )
        files.append(real)
    return files


def _documents(
    root: Path, path: Path, read: list[Path], reading: tuple[Path, ...] = (), where: str = ""
) -> list[tuple[Any, dict[str, str], str]]:
    """Each YAML document of ``path`` as copier reads it: an ``!include`` document replaced by
    the included files' documents, empty documents dropped, lists spliced in. Each comes with
    its keys' ``file:line`` and its own. ``where`` is the ``!include`` that reads it."""
    rel = _relative(path, root)
    if path in reading:
        chain = " -> ".join(_relative(p, root) for p in (*reading, path))
        raise TemplateError(where, f"`!include` loops: {chain}")
    reading = (*reading, path)
    read.append(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TemplateError(rel, f"not UTF-8 text ({err.reason})") from err
    except OSError as err:
        raise TemplateError(rel, f"cannot be read: {err.strerror or err}") from err
    attributes = {"root": root, "rel": rel, "read": read, "reading": reading}
    loader_class = type("_Loader", (_Loader,), attributes)
    out: list[tuple[Any, dict[str, str], str]] = []
    try:
        for node in yaml.compose_all(text, Loader=loader_class):
            where = f"{rel}:{node.start_mark.line + 1}"
            if isinstance(node, yaml.ScalarNode) and node.tag == "!include":
                for included in _include_files(root, str(node.value), where):
                    out.extend(_documents(root, included, read, reading, where))
                continue
            lines: dict[str, str] = {}
            if isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    lines[str(key_node.value)] = f"{rel}:{key_node.start_mark.line + 1}"
            loader = loader_class("")
            try:
                doc = loader.construct_document(node)
            finally:
                loader.dispose()
            if not doc:
                continue  # copier drops empty documents: comment-only, `{}`, `null`
            out.extend((item, lines, where) for item in _flatten([doc]))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = err.problem or err.context or "invalid YAML"
        raise TemplateError(f"{rel}:{line}", f"invalid YAML: {problem}") from err
    except yaml.YAMLError as err:
        raise TemplateError(rel, f"invalid YAML: {err}") from err
    return out


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _load_documents(
    path: Path, root: Path, read: list[Path] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """All documents of the manifest merged as copier merges them (a later document's key wins,
    except the MERGED_SETTINGS lists, which are joined), and each key's ``file:line``."""
    data: dict[str, Any] = {}
    lines: dict[str, str] = {}
    merged: dict[str, list[Any]] = {}
    for doc, doc_lines, where in _documents(root, path, [] if read is None else read):
        if not isinstance(doc, dict):
            raise TemplateError(
                where, f"a manifest document must be a mapping of keys, not {type(doc).__name__}"
            )
        for key, value in doc.items():
            if key in MERGED_SETTINGS:
                merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
                lines.setdefault(key, doc_lines.get(str(key), ""))
                data.setdefault(key, None)
                continue
            data[key] = value
            lines[str(key)] = doc_lines.get(str(key), _relative(path, root))
    data.update(merged)
    return data, lines


def parse_choices(raw: Any, where: str) -> tuple[tuple[Any, Any], ...]:
    """copier's forms of ``choices``: a list (of values or [label, value] pairs) or a mapping of
    label to value; as (label, value) pairs. A labelled value may be copier's extended choice, a
    mapping with ``value`` and a ``validator`` that disables it (checked when answered)."""
    if isinstance(raw, Mapping):
        pairs = [(str(k), v) for k, v in raw.items()]
        labelled = list(pairs)
    elif isinstance(raw, list):
        pairs, labelled = [], []
        for item in raw:
            if isinstance(item, list | tuple):
                if len(item) != 2:
                    raise TemplateError(where, f"choice {item!r} must be [label, value]")
                labelled.append((item[0], item[1]))
                pairs.append(labelled[-1])
            else:
                pairs.append((item, item))
    else:
        raise TemplateError(where, "choices must be a list or a mapping of label to value")
    for label, value in labelled:
        if not isinstance(value, Mapping):
            continue
        if "value" not in value:
            raise TemplateError(where, f"choice {label!r} is a mapping without `value`")
        if not isinstance(value.get("validator", ""), str):
            raise TemplateError(where, f"the `validator` of choice {label!r} must be text")
    return tuple(pairs)


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" did you mean `{close[0]}`?" if close else f" a question has {', '.join(known)}"


def _question(name: str, raw: Any, where: str, markers: tuple[str, ...]) -> Question:
    """One question as copier reads it; ``markers`` are what starts Jinja under the template's
    ``_envops`` (a ``type`` holding one is rendered later, with the answers)."""
    # A mapping is the full form (copier ignores keys it does not know); anything else is the
    # short form, its value the default.
    spec: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {"default": raw}
    if name in RESERVED_NAMES:
        raise TemplateError(
            where,
            f"question name {name!r} is reserved: copier gives every template"
            f" {' and '.join(f'`{n}`' for n in RESERVED_NAMES)} (and refuses a question so named)",
        )
    default = spec.get("default", MISSING)
    type_name = spec.get("type")
    type_template = ""
    if type_name is None:
        # copier infers the type from the default's, `yaml` when it is no question type (so
        # also when there is no default); the answers schema offers such a question text.
        inferred = type(default).__name__
        type_name = "str" if default is MISSING else inferred
        if type_name not in QUESTION_TYPES:
            type_name = "yaml"
    elif isinstance(type_name, str) and is_templated(type_name, markers):
        type_name, type_template = "yaml", type_name
    if type_name not in QUESTION_TYPES:
        raise TemplateError(
            where, f"question {name!r} has type {type_name!r}; allowed: {', '.join(QUESTION_TYPES)}"
        )
    secret = bool(spec.get("secret", False))
    if secret and default is MISSING:
        raise TemplateError(where, f"secret question {name!r} needs a default")
    when = spec.get("when", True)
    if not isinstance(when, bool | str):
        raise TemplateError(where, f"`when` of {name!r} must be a boolean or a Jinja string")
    ask = spec.get("ask", True)
    if not isinstance(ask, bool | str):
        raise TemplateError(where, f"`ask` of {name!r} must be a boolean or a Jinja string")
    validator = spec.get("validator", "")
    if not isinstance(validator, str):
        raise TemplateError(where, f"`validator` of {name!r} must be a Jinja string")
    multiselect = bool(spec.get("multiselect", False))
    if multiselect and "choices" not in spec:
        raise TemplateError(where, f"question {name!r}: `multiselect` needs `choices`")
    return Question(
        name=name,
        type=type_name,
        where=where,
        help=str(spec.get("help", "") or ""),
        default=default,
        choices=(
            parse_choices(spec["choices"], where)
            if "choices" in spec and not isinstance(spec["choices"], str)
            else None
        ),
        choices_template=spec["choices"] if isinstance(spec.get("choices"), str) else "",
        multiselect=multiselect,
        validator=validator,
        when=when,
        secret=secret,
        placeholder=str(spec.get("placeholder", "") or ""),
        ask=ask,
        type_template=type_template,
        untyped=spec.get("type") is None and default is MISSING,
    )


def jinja_markers(envops: Mapping[str, Any]) -> tuple[str, ...]:
    """What starts Jinja syntax under these ``_envops`` (``{{``, ``{%``, ``{#`` unless the
    template changes them, as copier's ``[[ ]]`` templates do; and line statements or comments
    when it sets their prefix): a text holding none of them renders to itself."""
    markers = [
        str(envops.get("variable_start_string", "{{")),
        str(envops.get("block_start_string", "{%")),
        str(envops.get("comment_start_string", "{#")),
    ]
    markers.extend(
        str(envops[key])
        for key in ("line_statement_prefix", "line_comment_prefix")
        if envops.get(key)
    )
    return tuple(m for m in markers if m)


def is_templated(text: str, markers: tuple[str, ...]) -> bool:
    """Whether Jinja could render ``text`` to anything but itself (it holds a marker, or a line
    break, which Jinja may normalize or drop)."""
    return "\n" in text or "\r" in text or any(m in text for m in markers)


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TemplateError(where, f"`{key}` must be a list of strings")


def _postcheck(root: Path) -> PostCheck | None:
    path = root / POSTCHECK_NAME
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise TemplateError(POSTCHECK_NAME, "is not a file; it must be YAML (see the README)")
    data, lines = _load_documents(path, root)
    allowed = {"install", "test", "serve", "health", "start_hint", "description", "python", "names"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise TemplateError(
            lines.get(unknown[0], POSTCHECK_NAME),
            f"unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}",
        )

    def argv(key: str) -> tuple[str, ...]:
        return _str_list(data.get(key, []), lines.get(key, POSTCHECK_NAME), key)

    names = data.get("names", {}) or {}
    rules = ("python-package", "python-distribution")
    if not isinstance(names, Mapping) or any(r not in rules for r in names.values()):
        raise TemplateError(
            lines.get("names", POSTCHECK_NAME),
            f"`names` maps questions to a naming rule: {', '.join(rules)}",
        )
    return PostCheck(
        python=str(data.get("python", "") or ""),
        names={str(k): str(v) for k, v in names.items()},
        install=argv("install"),
        test=argv("test"),
        serve=argv("serve"),
        health=str(data.get("health", "") or ""),
        start_hint=str(data.get("start_hint", "") or ""),
        description=str(data.get("description", "") or ""),
    )


def load(root: Path) -> Template:
    """Parse the template at ``root``; raises :class:`TemplateError` naming file and line.

    A template parsed before is reused while its folder's entries, its manifest, the files it
    includes and hyperagent.yml are unchanged.
    """
    cached = _LOADED.get(root)
    if cached is not None and cached[0] == _stamp(cached[1]):
        return cached[1]
    template = _parse(root)
    _LOADED[root] = (_stamp(template), template)
    return template


_LOADED: dict[Path, tuple[tuple[int, ...], Template]] = {}


def _stamp(template: Template) -> tuple[int, ...]:
    """What says a parsed template is still current: its folder (a manifest added, removed or
    renamed changes it), its manifest, the files that includes, and hyperagent.yml."""
    root = template.root
    manifest = () if template.manifest is None else (template.manifest,)
    return tuple(_mtime(p) for p in (root, root / POSTCHECK_NAME, *manifest, *template.sources))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _manifests(root: Path) -> list[Path]:
    """The template's manifests as copier finds them: each ``copier.*`` file whose last extension
    is ``.yml`` or ``.yaml`` in any case (``copier.YML``, ``copier.old.yaml``). A folder or a
    dangling link named ``copier.yml`` or ``copier.yaml`` is one too, broken (copier would pass
    over it and render the template without its questions)."""
    found = []
    for path in sorted(root.glob("copier.*")):
        if not re.match(r"\.ya?ml", path.suffix, re.IGNORECASE):
            continue
        if path.is_file() or path.name in MANIFEST_NAMES:
            found.append(path)
    return found


def _manifest(root: Path) -> Path | None:
    """The one manifest of the template at ``root``; None when it has none (copier renders such
    a folder: no questions, every setting its default)."""
    if not root.is_dir():
        raise TemplateError(str(root), "no such template directory")
    found = _manifests(root)
    for path in found:
        if not path.is_file():
            kind = "a folder" if path.is_dir() else "a link to nothing"
            raise TemplateError(path.name, f"is {kind}; the manifest must be a YAML file")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise TemplateError(
            str(root), f"it has {len(found)} manifests ({names}); copier reads one: keep one"
        )
    return found[0] if found else None


def _parse(root: Path) -> Template:  # noqa: PLR0912 - one check per setting, in one place
    manifest = _manifest(root)
    read: list[Path] = []
    data, lines = ({}, {}) if manifest is None else _load_documents(manifest, root, read)

    def where(key: str) -> str:
        return lines.get(key, manifest.name if manifest is not None else str(root))

    raw_questions: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise TemplateError(where(str(key)), f"key {key!r} must be a string")
        if not key.startswith("_"):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise TemplateError(where(key), f"question name {key!r} is not a valid identifier")
            raw_questions[key] = value
            if isinstance(value, Mapping):
                warnings.extend(
                    f"{where(key)}: question {key!r}: `{k}` ignored (copier ignores it too):"
                    + _did_you_mean(str(k), QUESTION_KEYS)
                    for k in value
                    if k not in QUESTION_KEYS
                )
            continue
        setting = key[1:]
        if setting in REFUSED_SETTINGS and value:
            raise TemplateError(
                where(key), f"`{key}` is not supported: {REFUSED_SETTINGS[setting]}"
            )
        if setting in IGNORED_SETTINGS:
            if value:
                warnings.append(f"`{key}` ignored: {IGNORED_SETTINGS[setting]}")
            continue
        if setting not in SETTINGS:
            warnings.append(f"`{key}` ignored: not a setting HyperAgent knows")
            continue
        settings[setting] = value
    _check_min_version(settings.get("min_copier_version"), where("_min_copier_version"))
    envops = settings.get("envops", {}) or {}
    if not isinstance(envops, Mapping):
        raise TemplateError(where("_envops"), "`_envops` must be a mapping")
    markers = jinja_markers(envops)
    # Questions are read once the settings are: `_envops` says what a templated `type` is.
    questions = {k: _question(k, v, where(k), markers) for k, v in raw_questions.items()}
    for name in settings.get("secret_questions", []) or []:
        if name in questions:
            q = questions[name]
            questions[name] = Question(**{**q.__dict__, "secret": True})

    subdirectory = _subdirectory(root, settings.get("subdirectory"), markers, where)
    if "exclude" in settings:
        exclude = _str_list(settings["exclude"], where("_exclude"), "_exclude")
    else:
        exclude = () if subdirectory else DEFAULT_EXCLUDE
    extensions = _str_list(
        settings.get("jinja_extensions", []) or [], where("_jinja_extensions"), "_jinja_extensions"
    )
    for entry in extensions:
        _check_extension(root, entry, where("_jinja_extensions"))
    return Template(
        root=root,
        manifest=manifest,
        questions=questions,
        subdirectory=subdirectory,
        suffix=_suffix(settings.get("templates_suffix"), where("_templates_suffix")),
        exclude=exclude,
        skip_if_exists=_str_list(
            settings.get("skip_if_exists", []), where("_skip_if_exists"), "_skip_if_exists"
        ),
        answers_file=str(settings.get("answers_file", ".copier-answers.yml")),
        envops=dict(envops),
        message_after_copy=str(settings.get("message_after_copy", "") or ""),
        message_after_update=str(settings.get("message_after_update", "") or ""),
        preserve_symlinks=bool(settings.get("preserve_symlinks", False)),
        postcheck=_postcheck(root),
        warnings=tuple(warnings),
        migrations=_migrations(data.get("_migrations") or [], where("_migrations")),
        sources=tuple(p for p in read if p != manifest),
        extensions=extensions,
        tasks=_tasks(settings.get("tasks", []) or [], where("_tasks")),
    )


def _check_min_version(value: Any, where: str) -> None:
    """``_min_copier_version`` as copier checks it: a template needing a later copier than the
    one whose semantics we render with is refused (it may use what we do not know)."""
    if value is None:
        return
    try:
        needed = Version(str(value))
    except InvalidVersion:
        raise TemplateError(
            where, f"`_min_copier_version` {value!r} is not a version (PEP 440, such as 9.0.0)"
        ) from None
    if needed > Version(COPIER_VERSION):
        raise TemplateError(
            where,
            f"the template needs copier >= {value} (`_min_copier_version`); HyperAgent renders"
            f" as copier {COPIER_VERSION} does, so it may not know what the template uses",
        )


def _subdirectory(
    root: Path, value: Any, markers: tuple[str, ...], where: Callable[[str], str]
) -> str:
    """``_subdirectory`` as copier reads it: ``""`` (or ``.``, the same folder: copier's default
    ``_exclude`` then applies) is the template folder itself; a templated one is rendered (and
    checked) with the answers; a plain one must be a folder inside the template."""
    subdirectory = str(value or "").strip("/")
    if PurePosixPath(subdirectory) == PurePosixPath():
        return ""
    if ".." in Path(subdirectory).parts or Path(subdirectory).is_absolute():
        raise TemplateError(where("_subdirectory"), "`_subdirectory` must stay inside the template")
    if not is_templated(subdirectory, markers) and not (root / subdirectory).is_dir():
        raise TemplateError(
            where("_subdirectory"), f"`_subdirectory` {subdirectory!r} does not exist"
        )
    return subdirectory


def _suffix(value: Any, where: str) -> str:
    """``_templates_suffix``: ``.jinja`` when it is absent or left empty (null), as copier takes
    it; ``""`` renders every file."""
    if value is None:
        return ".jinja"
    if not isinstance(value, str):
        raise TemplateError(
            where, f"`_templates_suffix` must be text (such as .jinja), not {value!r}"
        )
    return value


def _check_extension(root: Path, entry: str, where: str) -> None:
    """An extension's file (``path.py:Class``) must be inside the template."""
    if ":" not in entry:
        return
    path = entry.split(":", 1)[0]
    if not path.endswith(".py"):
        return
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise TemplateError(
            where, f"`_jinja_extensions`: {entry!r} must name a file inside the template"
        )
    try:
        (root / path).resolve().relative_to(root.resolve())
    except ValueError:
        raise TemplateError(
            where, f"`_jinja_extensions`: {entry!r} links outside the template"
        ) from None


def _tasks(value: Any, where: str) -> tuple[Task, ...]:
    """``_tasks`` as copier reads it: each a string (a shell command), a list (an argument
    vector) or a mapping with ``command`` and optionally ``when`` and ``working_directory``."""
    if not isinstance(value, list):
        raise TemplateError(where, "`_tasks` must be a list of commands")
    out = []
    for n, item in enumerate(value, 1):
        spec = item if isinstance(item, Mapping) else {"command": item}
        item_of = f"`_tasks` item {n}"
        _known_keys(spec, ("command", "when", "working_directory"), where, item_of, "a task")
        command = _command(spec.get("command"), where, item_of)
        when = spec.get("when", True)
        _check_when(when, where, item_of)
        out.append(
            Task(command, when, str(spec.get("working_directory", ".") or "."), f"{where} #{n}")
        )
    return tuple(out)


def _migrations(value: Any, where: str) -> tuple[Migration, ...]:
    """``_migrations`` as copier 9 reads them: each a command (a string or a list; run after
    every update), or a mapping with ``command`` and optionally ``version``, ``when`` and
    ``working_directory``; or copier's older form, ``version`` with ``before`` and ``after``
    lists of commands."""
    items = value if isinstance(value, list) else [value]
    out: list[Migration] = []
    for n, item in enumerate(items, 1):
        spot, item_of = f"{where} #{n}", f"`_migrations` item {n}"
        if not isinstance(item, Mapping):
            out.append(Migration(_command(item, where, item_of), where=spot))
            continue
        version = item.get("version")
        if version is not None and not isinstance(version, str | int | float):
            raise TemplateError(where, f"{item_of}: `version` must be a version")
        version = None if version is None else str(version)
        if "before" in item or "after" in item:  # copier's older form
            if version is None:
                raise TemplateError(where, f"{item_of}: `before`/`after` need a `version`")
            for stage in ("before", "after"):
                for command in item.get(stage) or []:
                    out.append(
                        Migration(
                            _command(command, where, item_of),
                            version=version,
                            stage=stage,
                            where=spot,
                        )
                    )
            continue
        keys = ("command", "version", "when", "working_directory")
        _known_keys(item, keys, where, item_of, "a migration")
        when = item.get("when")
        if when is not None:
            _check_when(when, where, item_of)
        out.append(
            Migration(
                _command(item.get("command"), where, item_of),
                version=version,
                when=when,
                working_directory=str(item.get("working_directory", ".") or "."),
                where=spot,
            )
        )
    return tuple(out)


def _known_keys(
    spec: Mapping[Any, Any], keys: Sequence[str], where: str, item_of: str, noun: str
) -> None:
    """A task's or migration's mapping holds only the keys copier reads."""
    unknown = set(spec) - set(keys)
    if unknown:
        listed = ", ".join(f"`{k}`" for k in keys[:-1]) + f" and `{keys[-1]}`"
        raise TemplateError(
            where, f"{item_of}: unknown keys {sorted(map(str, unknown))}; {noun} has {listed}"
        )


def _check_when(when: Any, where: str, item_of: str) -> None:
    if not isinstance(when, str | bool):
        raise TemplateError(where, f"{item_of}: `when` must be a string or a boolean")


def _command(command: Any, where: str, item_of: str) -> str | tuple[str, ...]:
    """A command as copier takes it: a string (run by the shell) or a list (the arguments)."""
    if (
        isinstance(command, list)
        and command
        and all(isinstance(c, str | int | float) for c in command)
    ):
        return tuple(str(c) for c in command)
    if isinstance(command, str) and command.strip():
        return command
    raise TemplateError(where, f"{item_of}: `command` must be a string or a list of strings")


def _words(command: Any) -> str:
    """A command as it reads: a list is its arguments."""
    if isinstance(command, list):
        return " ".join(map(str, command))
    return str(command)
